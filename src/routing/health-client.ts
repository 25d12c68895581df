import type { Env } from "../env";
import type { CircuitRecord, HealthReport } from "./circuit";

/**
 * The Worker's calls to the one Health object every isolate shares. Health is advisory: a failed call leaves
 * the isolate with its own picture (callers catch and go on), so nothing here retries or fails closed.
 * Null when the deployment has no Health binding (each isolate then keeps its own circuits).
 */
export function healthClient(env: Env) {
  const ns = env.HEALTH;
  if (!ns) return null;
  const stub = () => ns.get(ns.idFromName("global"));
  return {
    /** Sends outcome reports; answers the shared records. */
    report: (reports: HealthReport[]): Promise<Record<string, CircuitRecord>> => stub().report(reports),
    claimProbe: (key: string, ttlMs: number, holder: string): Promise<{ granted: boolean; record: CircuitRecord | null }> =>
      stub().claimProbe(key, ttlMs, holder),
    releaseProbe: (key: string): Promise<void> => stub().releaseProbe(key),
  };
}

export type HealthClient = NonNullable<ReturnType<typeof healthClient>>;
