import { envNumber } from "../core/env-number";
import { TtlCache } from "../core/ttl-cache";
import type { Env } from "../env";
import { hashKey, kvKeyName, looksLikeKey, type KeyRecord } from "./keys";
import { findKeyByHash } from "./queries";

/**
 * Key lookup: isolate memory → KV → D1. A hit in memory serves for KEY_CACHE_TTL_SECONDS (default 20 s);
 * KV is read with a 30 s edge cache, so a revocation written by the CLI (D1 + KV) takes effect everywhere
 * within 50 s, and within the isolate TTL where KV has no stale copy (locally: 20 s).
 */
const DEFAULT_TTL_S = 20;
const KV_CACHE_TTL_S = 30;
/** Lookups by key hash, misses (null) included; bound on remembered lookups per isolate, hits and misses together. */
const cache = new TtlCache<string, KeyRecord | null>(10_000);

export type KeyCheck = { ok: true; record: KeyRecord } | { ok: false; reason: "unknown" | "revoked" | "expired" };

export async function lookupKey(env: Env, rawKey: string, now = Date.now()): Promise<KeyCheck> {
  if (!looksLikeKey(rawKey)) return { ok: false, reason: "unknown" };
  const hash = await hashKey(rawKey);
  const record = cache.fresh(hash, now) ?? (await cache.get(hash, now, () => envNumber(env, "KEY_CACHE_TTL_SECONDS", DEFAULT_TTL_S, { min: 0 }) * 1000, () => loadRecord(env, hash)));
  if (!record) return { ok: false, reason: "unknown" };
  if (record.revoked_at !== null && record.revoked_at <= now) return { ok: false, reason: "revoked" };
  if (record.expires_at !== null && record.expires_at <= now) return { ok: false, reason: "expired" };
  return { ok: true, record };
}

async function loadRecord(env: Env, hash: string): Promise<KeyRecord | null> {
  const fromKv = await env.KV.get<KeyRecord>(kvKeyName(hash), { type: "json", cacheTtl: KV_CACHE_TTL_S });
  if (fromKv) return fromKv;
  const fromDb = await findKeyByHash(env.DB, hash);
  // Backfill KV so the next isolate finds it there; unknown keys are not written (no KV growth from junk).
  if (fromDb) await env.KV.put(kvKeyName(hash), JSON.stringify(fromDb));
  return fromDb;
}
