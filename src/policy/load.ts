import { envNumber } from "../core/env-number";
import { TtlCache } from "../core/ttl-cache";
import type { Env } from "../env";
import { defaultPolicy, PolicyDocument, policyKvKey } from "./schema";

/**
 * The current policy of a team. `policy push` writes every version to D1 and the current one to KV at
 * `policy:<team>` as {version, document}. Workers read KV (30 s edge cache) and keep it in isolate memory for
 * POLICY_CACHE_TTL_SECONDS (default 15 s), so a pushed policy takes effect within 45 s everywhere, within 15 s
 * where KV holds no stale copy (locally). A team that never pushed one gets the default policy.
 */
const DEFAULT_TTL_S = 15;
const KV_CACHE_TTL_S = 30;

export interface LoadedPolicy {
  version: number;
  policy: PolicyDocument;
}

const cache = new TtlCache<string, LoadedPolicy>();

export { policyKvKey };

export async function loadPolicy(env: Env, team: string, now = Date.now()): Promise<LoadedPolicy> {
  return cache.fresh(team, now) ?? cache.get(team, now, () => envNumber(env, "POLICY_CACHE_TTL_SECONDS", DEFAULT_TTL_S, { min: 0 }) * 1000, () => fetchPolicy(env, team));
}

async function fetchPolicy(env: Env, team: string): Promise<LoadedPolicy> {
  const stored = await env.KV.get<{ version: number; document: unknown }>(policyKvKey(team), { type: "json", cacheTtl: KV_CACHE_TTL_S });
  if (!stored) return { version: 0, policy: defaultPolicy(team) };
  const r = PolicyDocument.safeParse(stored.document);
  if (!r.success) {
    // The CLI validates before pushing; a document that no longer parses is a deploy mismatch. Fail safe to
    // the last good copy in this isolate, else the default.
    console.error(JSON.stringify({ msg: "stored policy does not validate", team, version: stored.version }));
    return cache.last(team) ?? { version: 0, policy: defaultPolicy(team) };
  }
  return { version: stored.version, policy: r.data };
}

export function clearPolicyCache(): void {
  cache.clear();
}
