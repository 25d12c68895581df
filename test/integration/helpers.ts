import { env, SELF } from "cloudflare:test";
import { expect } from "vitest";
import { displayPrefix, generateKey, generateKeyId, hashKey, kvKeyName, type KeyRecord, type Scope } from "../../src/auth/keys";
import { insertKey, insertTeam } from "../../src/auth/queries";

export { expectedCost, sumDollars } from "../support/money";

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

export type GatewayInit = RequestInit & { key?: string; json?: unknown };

/** The request `gw` and `direct` send: `key` as a Bearer token, `json` as the JSON body. */
export function gatewayRequest(path: string, init: GatewayInit = {}): Request {
  const headers = new Headers(init.headers);
  if (init.key) headers.set("authorization", `Bearer ${init.key}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  return new Request(`http://gateway${path}`, { ...init, headers, body });
}

export function gw(path: string, init: GatewayInit = {}): Promise<Response> {
  return SELF.fetch(gatewayRequest(path, init));
}

export function chat(key: string, body: Record<string, unknown>, init: RequestInit = {}): Promise<Response> {
  return gw("/v1/chat/completions", { method: "POST", key, json: body, ...init });
}

export function responses(key: string, body: Record<string, unknown>): Promise<Response> {
  return gw("/v1/responses", { method: "POST", key, json: body });
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

export interface UpstreamLogEntry {
  at: number;
  path: string;
  auth: string | null;
  beta: string | null;
  body: Record<string, any>;
  closed_at: number | null;
  completed: boolean;
}

export async function upstreamLog(tag: string): Promise<UpstreamLogEntry[]> {
  const r = await fetch(`${env.UPSTREAM_ORIGIN}/__log?tag=${encodeURIComponent(tag)}`);
  return r.json();
}

/** The gateway's estimate of what a provider did not count: UTF-8 bytes / 4, rounded up (none for nothing). */
export function estimatedTokens(text: string): number {
  return Math.ceil(new TextEncoder().encode(text).length / 4);
}

/** The exact text the provider received, as the gateway serialises an upstream body. */
export function sentText(entry: UpstreamLogEntry): string {
  return JSON.stringify(entry.body);
}

export function userMsg(text: string) {
  return [{ role: "user", content: text }];
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let tags = 0;
/** A tag no other test uses, for the fake upstream's log and its deterministic chunk ids. */
export function uniqueTag(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${(tags++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** The SSE events of a stream body, each with its terminating blank line. */
export function sseEvents(text: string): string[] {
  return text.match(/[^]*?(?:\r?\n){2}/g) ?? [];
}

/** The JSON of a `data:` event. */
export function eventJson(event: string): any {
  return JSON.parse(event.replace(/^data: ?/, "").trim());
}

/** Asserts a JSON error in the gateway's shape and returns its `error` object. */
export async function expectError(r: Response, status: number, code: string): Promise<Record<string, any>> {
  const text = await r.text();
  expect(r.status, text).toBe(status);
  expect(r.headers.get("content-type")).toMatch(/^application\/json/);
  const id = r.headers.get("x-request-id");
  expect(id).toMatch(/^gen-\d+-[0-9a-f]{20}$/);
  const body = JSON.parse(text) as { error: Record<string, any> };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(body.error).toMatchObject({ code, request_id: id });
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.type).toBe(
    ({ 400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error", 405: "invalid_request_error", 408: "timeout_error", 413: "request_too_large", 429: "rate_limit_error", 504: "timeout_error" } as Record<number, string>)[status] ??
      (status >= 500 ? "api_error" : "invalid_request_error"),
  );
  return body.error;
}

export async function usageOf(key: string, query = ""): Promise<Record<string, any>> {
  const r = await gw(`/v1/usage${query ? `?${query}` : ""}`, { key });
  const text = await r.text();
  expect(r.status, text).toBe(200);
  return JSON.parse(text);
}
