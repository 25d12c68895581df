import { createExecutionContext, env } from "cloudflare:test";
import worker from "../../src/index";
import { describe, expect, it } from "vitest";
import { gatewayRequest, newTeamKey, type UpstreamLogEntry } from "./helpers";

/*
 * Mutants of valid requests, bodies and headers, from a seeded PRNG (a failure names the mutant, which replays):
 * whatever the gateway makes of each, it never answers 5xx, never hangs, refuses every mutant the rules say it
 * must (judged here, independently), and never lets a request it answered 4xx reach the provider. Every
 * mutant carries its own tag, so the fake provider's log tells which ones it saw.
 */

const SEED = 0x5eed_f022;
// A failure names the mutant, which replays from SEED; raise MUTANTS locally to search harder.
const MUTANTS = 2_000;
const PARALLEL = 32;

/** mulberry32: small, fast and deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Path = "/v1/chat/completions" | "/v1/messages";

interface Mutant {
  i: number;
  tag: string;
  path: Path;
  headers: Record<string, string>;
  body: Uint8Array;
  what: string[];
}

function seedBody(path: Path, tag: string, r: () => number): Record<string, any> {
  const prompt = `hello [[tag=${tag}]]`;
  const stream = r() < 0.3;
  if (path === "/v1/chat/completions") {
    return {
      model: "openai/gpt-4o-mini",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: r() < 0.5 ? prompt : [{ type: "text", text: prompt }, { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }] },
      ],
      max_tokens: 32,
      temperature: 0.5,
      stream,
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object", properties: { a: { type: "string" } } } } }],
      user: "u1",
    };
  }
  return {
    model: "anthropic/claude-haiku-4.5",
    max_tokens: 32,
    system: [{ type: "text", text: "be brief" }],
    messages: [{ role: "user", content: r() < 0.5 ? prompt : [{ type: "text", text: prompt }] }],
    stream,
    metadata: { user_id: "u1" },
    tools: [{ name: "f", input_schema: { type: "object", properties: { a: { type: "string" } } } }],
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { n: v };
  return v;
}

/** A value to put where another was. */
function oddValue(r: () => number): unknown {
  return pick(r, [
    () => null,
    () => true,
    () => 0,
    () => -1,
    () => 1e308,
    () => 2 ** 53 + 1,
    () => "",
    () => "x".repeat(Math.floor(r() * 5000)),
    () => "\ud800",
    () => "a\udc00b",
    () => "\u0000\u0001\u2028",
    () => [],
    () => ({}),
    () => [1, "2", null],
    () => ({ type: "text", text: 5 }),
    () => ({ type: "text", text: { a: 1 } }),
    () => nested(40),
    () => nested(70),
    () => ({ ["__proto__"]: { polluted: 1 } }),
    () => ({ constructor: { prototype: 1 } }),
  ])();
}

/** A random place in a JSON value: its parent and key. */
function randomSlot(root: any, r: () => number): [any, string | number] | null {
  let parent: any = null;
  let key: string | number = "";
  let node = root;
  for (let steps = 0; steps < 6; steps++) {
    const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : node && typeof node === "object" ? Object.keys(node) : [];
    if (keys.length === 0 || (parent !== null && r() < 0.3)) break;
    parent = node;
    key = pick(r, keys);
    node = node[key];
  }
  return parent === null ? null : [parent, key];
}

function mutateValue(body: any, r: () => number, what: string[]): void {
  const slot = randomSlot(body, r);
  if (!slot) return;
  const [parent, key] = slot;
  const op = Math.floor(r() * 4);
  if (op === 0) {
    what.push(`delete ${String(key)}`);
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else if (op === 1 && !Array.isArray(parent)) {
    const name = pick(r, ["x_extra", "provider", "models", "reasoning", "n", "stream_options", "anthropic_beta", "messages", "content", "text", "type", "role"]);
    what.push(`set ${name}`);
    parent[name] = oddValue(r);
  } else {
    what.push(`replace ${String(key)}`);
    parent[key] = oddValue(r);
  }
}

function mutateBytes(bytes: Uint8Array, r: () => number, what: string[]): Uint8Array {
  const at = Math.floor(r() * (bytes.length + 1));
  const ins = (extra: number[] | Uint8Array) => new Uint8Array([...bytes.subarray(0, at), ...extra, ...bytes.subarray(at)]);
  const op = Math.floor(r() * 7);
  what.push(`bytes op ${op} at ${at}`);
  switch (op) {
    case 0: {
      const b = bytes.slice();
      if (at < b.length) b[at] = Math.floor(r() * 256);
      return b;
    }
    case 1:
      return ins([pick(r, [0xff, 0xc3, 0xed, 0x80, 0x00, 0x0b, 0x22, 0x5c, 0x7b, 0x5b, 0x2c])]);
    case 2:
      return bytes.subarray(0, at);
    case 3:
      return new Uint8Array([...bytes.subarray(0, at), ...bytes.subarray(Math.min(bytes.length, at + 1 + Math.floor(r() * 20)))]);
    case 4:
      return ins(new TextEncoder().encode(pick(r, ["\\ud800", "\\udfff", "\\ud83d\\ude00", "\\u0000", "[[[[", "]]", "{}", '"', "\\"])));
    case 5:
      return ins(new TextEncoder().encode("[".repeat(100) + "]".repeat(100)));
    default:
      return new Uint8Array([...bytes.subarray(0, at), ...bytes.subarray(at, at + 30), ...bytes.subarray(at)]);
  }
}

function mutateHeaders(h: Record<string, string>, key: string, r: () => number, what: string[]): void {
  const op = Math.floor(r() * 9);
  what.push(`headers op ${op}`);
  if (op === 0) h["content-type"] = pick(r, ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-16", "application/jsonx", "json", "", "application/json;;;"]);
  else if (op === 1) delete h["content-type"];
  else if (op === 2) h.authorization = `Bearer ${key}${pick(r, ["\x0b", "\x0c", " ", "\t", "x", "\x01"])}`;
  else if (op === 3) h.authorization = pick(r, [`bearer ${key}`, `Basic ${key}`, `Bearer`, `Bearer  ${key} ${key}`, key]);
  else if (op === 4) h[`x-fill-${Math.floor(r() * 4)}`] = "f".repeat(Math.floor(r() * 40_000));
  else if (op === 5) h["anthropic-beta"] = pick(r, ["x", "context-1m-2025-08-07", "a,b,c", " "]);
  else if (op === 6) h["content-encoding"] = pick(r, ["gzip", "br", "identity"]);
  else if (op === 7) h["x-api-key"] = `${key}${pick(r, ["", "\x0b"])}`;
  // op 8: headers untouched
}

function mutant(i: number, key: string, run: string): Mutant {
  const r = prng(SEED + i);
  const tag = `${run}-${i}`;
  const path: Path = r() < 0.5 ? "/v1/chat/completions" : "/v1/messages";
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const what: string[] = [];
  let body: Uint8Array = new Uint8Array();
  // Keep the tag whole: a mutant that lost it could reach the provider unseen by this test.
  for (let attempt = 0; attempt < 8; attempt++) {
    what.length = 0;
    const value = seedBody(path, tag, r);
    const valueMutations = Math.floor(r() * 3);
    for (let m = 0; m < valueMutations; m++) mutateValue(value, r, what);
    body = new TextEncoder().encode(JSON.stringify(value));
    if (r() < 0.4) body = mutateBytes(body, r, what);
    if (new TextDecoder().decode(body).includes(`[[tag=${tag}]]`)) break;
  }
  if (r() < 0.5) mutateHeaders(headers, key, r, what);
  return { i, tag, path, headers, body, what };
}

/**
 * Why a mutant must be refused, judged independently of the gateway's code from the rules it promises: the
 * content type, the key's framing, header size, UTF-8, lone surrogates, nesting depth. null: it may be served.
 */
function mustRefuse(m: Mutant, key: string): string | null {
  const type = m.headers["content-type"];
  if (type && !/^application\/json[ \t]*(;|$)/i.test(type)) return "content type";
  const auth = m.headers.authorization ?? "";
  const keyed = auth ? new RegExp(`^Bearer[ \t]+${key}[ \t]*$`, "i").test(auth.trim()) : (m.headers["x-api-key"] ?? "").trim() === key;
  if (!keyed) return "key";
  if (Object.entries(m.headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0) > 32 * 1024) return "header size";
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(m.body);
  } catch {
    return "UTF-8";
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "JSON";
  }
  const bad = (v: unknown, depth: number): string | null => {
    if (typeof v === "string") return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(v) ? "surrogate" : null;
    if (v === null || typeof v !== "object") return null;
    if (depth > 64) return "depth";
    for (const [k, x] of Object.entries(v)) {
      const why = bad(k, depth + 1) ?? bad(x, depth + 1);
      if (why) return why;
    }
    return null;
  };
  return bad(value, 1);
}

async function send(m: Mutant): Promise<number> {
  const answer = (async () => {
    // The Worker's own fetch, in this isolate: the whole app, without a service binding's hop per mutant.
    const res = await worker.fetch(gatewayRequest(m.path, { method: "POST", headers: m.headers, body: m.body }), env, createExecutionContext());
    const text = await res.text();
    if (res.status >= 400) {
      // Errors are JSON in the route's shape.
      const parsed = JSON.parse(text);
      expect(parsed.error, `mutant ${m.i} (${m.what.join(", ")}): ${text}`).toBeDefined();
    }
    return res.status;
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`mutant ${m.i} (${m.what.join(", ")}) had no answer in 10 s`)), 10_000);
  });
  try {
    return await Promise.race([answer, hang]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

describe("fuzzed requests", () => {
  it(`${MUTANTS} mutants of valid requests: never 5xx, never a hang, never a refused request sent upstream`, async () => {
    const k = await newTeamKey();
    const run = `fz${Date.now().toString(36)}`;
    const status = new Map<string, number>();
    const mutants = Array.from({ length: MUTANTS }, (_, i) => mutant(i, k.key, run));
    for (let at = 0; at < mutants.length; at += PARALLEL) {
      const batch = mutants.slice(at, at + PARALLEL);
      const codes = await Promise.all(batch.map(send));
      batch.forEach((m, j) => {
        const named = `mutant ${m.i} (${m.what.join(", ")})`;
        expect(codes[j], named).toBeLessThan(500);
        const why = mustRefuse(m, k.key);
        if (why) expect(codes[j], `${named} must be refused: ${why}`).toBeGreaterThanOrEqual(400);
        status.set(m.tag, codes[j]!);
      });
    }
    // The fuzz must exercise both sides: many refused, many served.
    const codes = [...status.values()];
    expect(codes.filter((s) => s >= 400).length).toBeGreaterThan(MUTANTS / 10);
    expect(codes.filter((s) => s === 200).length).toBeGreaterThan(MUTANTS / 10);

    const log = (await (await fetch(`${env.UPSTREAM_ORIGIN}/__log?contains=${run}-`)).json()) as UpstreamLogEntry[];
    const leaked: string[] = [];
    for (const entry of log) {
      for (const [, tag] of JSON.stringify(entry.body).matchAll(new RegExp(`tag=(${run}-\\d+)\\]\\]`, "g"))) {
        const s = status.get(tag!);
        if (s === undefined || (s >= 400 && s < 500)) leaked.push(`${tag} answered ${s}`);
      }
    }
    expect(leaked, "requests the gateway refused that reached the provider").toEqual([]);
    expect(log.length).toBeGreaterThan(0);
  });
});
