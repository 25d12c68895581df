import { envNumber } from "../core/env-number";
import { TtlCache } from "../core/ttl-cache";
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

interface Loaded {
  catalog: Catalog;
  version: number;
}

/** One entry: the gateway's catalog. */
const cache = new TtlCache<"gateway", Loaded>(1);

/** The cached catalog while fresh, else null (then await loadCatalog). */
export function cachedCatalog(now = Date.now()): Catalog | null {
  return cache.fresh("gateway", now)?.catalog ?? null;
}

/** The catalog last loaded, fresh or not (the built-in one before any): for what must not wait, such as scrubbing. */
export function lastCatalog(): Catalog {
  return cache.last("gateway")?.catalog ?? builtinCatalog;
}

export async function loadCatalog(env: Env, now = Date.now()): Promise<Catalog> {
  const ttl = () => envNumber(env, "CONFIG_CACHE_TTL_SECONDS", DEFAULT_TTL_S, { min: 0 }) * 1000;
  return cachedCatalog(now) ?? (await cache.get("gateway", now, ttl, () => fetchCatalog(env, now))).catalog;
}

async function fetchCatalog(env: Env, now: number): Promise<Loaded> {
  const last = cache.last("gateway");
  const stored = await env.KV.get<StoredConfig>(CONFIG_KV_KEY, { type: "json", cacheTtl: KV_CACHE_TTL_S });
  if (!stored) return { catalog: builtinCatalog, version: 0 };
  if (last && last.version === stored.version) return last;
  const r = GatewayConfig.safeParse(stored.document);
  if (!r.success) {
    // The CLI validates before pushing; a document that no longer parses is a deploy mismatch: keep the last good one.
    console.error(JSON.stringify({ msg: "stored gateway config does not validate", version: stored.version }));
    return last ?? { catalog: builtinCatalog, version: 0 };
  }
  return { catalog: mergeConfig(builtinCatalog, r.data, stored.pushed_at ?? new Date(now).toISOString().slice(0, 10)), version: stored.version };
}
