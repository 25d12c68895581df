import { createExecutionContext, env } from "cloudflare:test";
import worker from "../../src/index";
import { policyKvKey } from "../../src/policy/load";
import { PolicyDocument, type PolicyInput } from "../../src/policy/schema";
import { gatewayRequest, gw, type GatewayInit } from "./helpers";

export const ADMIN = "test-admin-token-0123456789";

/** Writes a team's policy the way `policy push` does (KV `policy:<team>`), validated by the same schema. */
export async function setPolicy(team: string, doc: Omit<PolicyInput, "team">): Promise<void> {
  const document = PolicyDocument.parse({ team, ...doc });
  await env.KV.put(policyKvKey(team), JSON.stringify({ version: 1, document }));
}

export function ledgerOf(team: string) {
  return env.LEDGER.get(env.LEDGER.idFromName(team));
}

/** GET with the operator's admin token. */
export function adminGet(path: string): Promise<Response> {
  return gw(path, { headers: { authorization: `Bearer ${ADMIN}` } });
}

/** mulberry32: a tiny seeded PRNG, so a failing property run can be replayed from its seed. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** Integer in [lo, hi]. */
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  };
}

export type Prng = ReturnType<typeof prng>;

/** The seed of a property run: PROPERTY_SEED to replay one, else fresh (printed on failure by the caller). */
export function seedFor(): number {
  return Number((env as unknown as Record<string, string>).PROPERTY_SEED ?? "") || Math.floor(Math.random() * 2 ** 31);
}

/**
 * A request straight into the Worker's fetch handler, with its own execution context. Thousands of requests
 * through SELF slow down quadratically in this test pool (800 requests: 47 s through SELF, 50 ms direct),
 * so the long-running tests use this.
 */
export function direct(path: string, init: GatewayInit = {}): Promise<Response> {
  return Promise.resolve(worker.fetch(gatewayRequest(path, init), env as never, createExecutionContext()));
}
