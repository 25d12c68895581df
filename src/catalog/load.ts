import { envNumber } from "../core/env-number";
import type { Env } from "../env";
import { mergeConfig } from "./config";
import { CONFIG_KV_KEY, GatewayConfig, type StoredConfig } from "./config-schema";
import { builtinCatalog, type Catalog } from "./index";

/**
 * The catalog in force: the built-in one with the gateway config merged in. `config push` writes every
 * version to D1 and the current one to KV at `config:gateway` as {version, document, pushed_at}. Workers read
 * KV (30 s edge cache) and keep the merged catalog in isolate memory for CONFIG_CACHE_TTL_SECONDS (default
 * 15 s), so a push takes effect within 45 s everywhere. A warm isolate answers without awaiting anything.
 */
const DEFAULT_TTL_S = 15;
const KV_CACHE_TTL_S = 30;

let cached: { catalog: Catalog; version: number; until: number } | null = null;
let inflight: Promise<Catalog> | null = null;

/** The cached catalog while fresh, else null (then await loadCatalog). */
export function cachedCatalog(now = Date.now()): Catalog | null {
  return cached && cached.until > now ? cached.catalog : null;
}

/** The catalog last loaded, fresh or not (the built-in one before any): for what must not wait, such as scrubbing. */
export function lastCatalog(): Catalog {
  return cached?.catalog ?? builtinCatalog;
}

export async function loadCatalog(env: Env, now = Date.now()): Promise<Catalog> {
  const hit = cachedCatalog(now);
  if (hit) return hit;
  inflight ??= fetchCatalog(env, now).finally(() => (inflight = null));
  return inflight;
}

async function fetchCatalog(env: Env, now: number): Promise<Catalog> {
  const ttl = envNumber(env, "CONFIG_CACHE_TTL_SECONDS", DEFAULT_TTL_S, { min: 0 }) * 1000;
  const keep = (catalog: Catalog, version: number) => {
    cached = { catalog, version, until: now + ttl };
    return catalog;
  };
  const stored = await env.KV.get<StoredConfig>(CONFIG_KV_KEY, { type: "json", cacheTtl: KV_CACHE_TTL_S });
  if (!stored) return keep(builtinCatalog, 0);
  if (cached && cached.version === stored.version) return keep(cached.catalog, stored.version);
  const r = GatewayConfig.safeParse(stored.document);
  if (!r.success) {
    // The CLI validates before pushing; a document that no longer parses is a deploy mismatch: keep the last good one.
    console.error(JSON.stringify({ msg: "stored gateway config does not validate", version: stored.version }));
    return keep(cached?.catalog ?? builtinCatalog, cached?.version ?? 0);
  }
  return keep(mergeConfig(builtinCatalog, r.data, stored.pushed_at ?? new Date(now).toISOString().slice(0, 10)), stored.version);
}
