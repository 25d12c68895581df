import { env, SELF } from "cloudflare:test";
import { displayPrefix, generateKey, generateKeyId, hashKey, kvKeyName, type KeyRecord, type Scope } from "../../src/auth/keys";
import { insertKey, insertTeam } from "../../src/auth/queries";

export interface TestKey {
  key: string;
  id: string;
  team: string;
}

let n = 0;
/** A fresh team (unique per call) with one key, written the way the CLI writes them (D1 + KV). */
export async function newTeamKey(
  opts: { team?: string; scopes?: Scope[]; expiresAt?: number | null; kv?: boolean } = {},
): Promise<TestKey> {
  const team = opts.team ?? `t${Date.now().toString(36)}${(n++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const key = generateKey();
  const id = generateKeyId();
  const hash = await hashKey(key);
  const scopes = opts.scopes ?? ["inference", "usage:read"];
  const now = Date.now();
  await insertTeam(env.DB, team, now);
  await insertKey(env.DB, { id, team, name: null, hash, prefix: displayPrefix(key), scopes, created_at: now, expires_at: opts.expiresAt ?? null });
  if (opts.kv !== false) {
    const rec: KeyRecord = { id, team, name: null, scopes, expires_at: opts.expiresAt ?? null, revoked_at: null };
    await env.KV.put(kvKeyName(hash), JSON.stringify(rec));
  }
  return { key, id, team };
}

export function gw(path: string, init: RequestInit & { key?: string; json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.key) headers.set("authorization", `Bearer ${init.key}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  return SELF.fetch(`http://gateway${path}`, { ...init, headers, body });
}

export function chat(key: string, body: Record<string, unknown>, init: RequestInit = {}): Promise<Response> {
  return gw("/v1/chat/completions", { method: "POST", key, json: body, ...init });
}

/** Polls until `check` returns a value (usage writes land within the batch window). */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function generationOf(key: string, id: string): Promise<Record<string, any> | null> {
  const r = await gw(`/v1/generation?id=${encodeURIComponent(id)}`, { key });
  if (r.status === 404) {
    await r.body?.cancel();
    return null;
  }
  return ((await r.json()) as { data: Record<string, any> }).data;
}

export async function upstreamLog(tag: string): Promise<{ at: number; auth: string | null; body: Record<string, any> }[]> {
  const r = await fetch(`${env.UPSTREAM_ORIGIN}/__log?tag=${encodeURIComponent(tag)}`);
  return r.json();
}

export function userMsg(text: string) {
  return [{ role: "user", content: text }];
}
