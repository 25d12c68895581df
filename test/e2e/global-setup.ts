import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { buildWorker, ROOT } from "../../scripts/gateway.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    /** The Worker bundled once for every e2e file, as `wrangler deploy` would bundle it. */
    workerScript: string;
  }
}

/** Bundles the gateway once (files then start their own gateway on it) and warms the CLI's bundle cache. */
export default async function setup(project: TestProject) {
  // Inside the repository: workerd refuses module paths that leave the working directory.
  const outdir = join(ROOT, "node_modules", ".cache", "switchyard-e2e", `worker-${process.pid}`);
  project.provide("workerScript", await buildWorker(outdir));
  const cli = spawnSync(process.execPath, [join(ROOT, "cli", "bin.mjs"), "--help"], { cwd: ROOT, encoding: "utf8" });
  if (cli.status !== 0) throw new Error(`the CLI does not start: ${cli.stderr}`);
  return () => rmSync(outdir, { recursive: true, force: true });
}
