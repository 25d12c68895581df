import type { TestProject } from "vitest/node";
import { startFakeUpstream } from "./upstream";

declare module "vitest" {
  export interface ProvidedContext {
    upstreamPort: number;
  }
}

/** Starts the fake provider the Worker under test is pointed at (OPENAI_BASE_URL). */
export default async function setup(project: TestProject) {
  const upstream = await startFakeUpstream();
  project.provide("upstreamPort", upstream.port);
  return () => upstream.close();
}
