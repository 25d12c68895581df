import type { Context } from "hono";
import type { z } from "zod";
import type { Env } from "../env";
import type { HonoEnv } from "./app";
import { envNumber } from "../core/env-number";
import { GatewayError } from "../core/errors";

const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** How long a client may take to send its whole body: a slow sender holds a request open no longer. */
const DEFAULT_BODY_TIMEOUT_MS = 30_000;
/** After refusing a body part-way, how much more of it is read and dropped, and for how long (see `drain`). */
const LINGER_MS = 1_000;
const LINGER_BYTES = 16 * 1024 * 1024;
/** The deepest nesting of arrays and objects a body may have, in any field (deeper JSON can exhaust stacks). */
const MAX_JSON_DEPTH = 64;

const maxBodyBytes = (env: Env) => envNumber(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES);
const bodyTimeoutMs = (env: Env) => envNumber(env, "BODY_TIMEOUT_MS", DEFAULT_BODY_TIMEOUT_MS);

/** Fails on any invalid sequence (a leading BOM is dropped). Stateless: each decode is a whole body. */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export interface JsonBody {
  json: unknown;
  /** The bytes actually read from the client, whatever its Content-Length said. */
  bytes: number;
}

/**
 * Reads a JSON request body, the only way a route reads one. The framing headers are not trusted: the
 * stream is read up to `MAX_BODY_BYTES` (413 past it, without reading the rest) within `BODY_TIMEOUT_MS`
 * (408). 400 for conflicting framing, a content type other than JSON, a broken body stream, invalid UTF-8,
 * lone surrogates, nesting deeper than MAX_JSON_DEPTH, or text that is not JSON.
 */
export async function readJsonBody(c: Context<HonoEnv>): Promise<JsonBody> {
  const req = c.req.raw;
  const headers = req.headers;
  const limit = maxBodyBytes(c.env);
  const refuse = async (err: GatewayError): Promise<never> => {
    if (req.body) await drain(req.body.getReader());
    throw err;
  };
  if (headers.has("transfer-encoding") && headers.has("content-length")) {
    await refuse(new GatewayError("bad_request", "the request has both Transfer-Encoding and Content-Length; send one"));
  }
  const type = headers.get("content-type");
  if (type && !/^application\/json[ \t]*(;|$)/i.test(type)) {
    await refuse(new GatewayError("bad_request", `content-type must be application/json, not ${JSON.stringify(type.slice(0, 100))}`));
  }
  const declared = headers.get("content-length");
  if (Number(declared) > limit) await refuse(tooLarge(limit));
  // With Content-Length alone (the pair was refused above), the runtime delivers exactly that many bytes, so
  // the body is read natively in one call; a chunked body is counted as it comes.
  const bytes =
    req.body === null
      ? new Uint8Array(0)
      : declared !== null
        ? await readDeclared(req, bodyTimeoutMs(c.env))
        : await readCapped(req.body, limit, bodyTimeoutMs(c.env));

  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new GatewayError("invalid_json", "request body is not valid UTF-8");
  }
  if (text.trim() === "") throw new GatewayError("invalid_json", "request body is empty; send a JSON object");
  if (nestedDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new GatewayError("invalid_json", `request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new GatewayError("invalid_json", `request body is not valid JSON: ${(err as Error).message}`);
  }
  // UTF-8 that decoded cannot hold a surrogate: only a \uD8xx-\uDFxx escape can, so only then look closer.
  if (SURROGATE_ESCAPE.test(text) && hasLoneSurrogate(json)) {
    throw new GatewayError("invalid_json", "request body has a lone UTF-16 surrogate (\\uD800-\\uDFFF escape without its pair)");
  }
  return { json, bytes: bytes.byteLength };
}

/** A body whose length the runtime enforces (Content-Length, already checked against the limit). */
async function readDeclared(req: Request, timeoutMs: number): Promise<Uint8Array> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(bodyTimeout(timeoutMs)), timeoutMs);
  });
  try {
    return new Uint8Array(await Promise.race([req.arrayBuffer(), expired]));
  } catch (err) {
    throw unreadable(err);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

async function readCapped(
  body: ReadableStream<Uint8Array>,
  limit: number,
  timeoutMs: number,
): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(bodyTimeout(timeoutMs)), timeoutMs);
  });
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), expired]);
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await drain(reader);
        throw tooLarge(limit);
      }
      chunks.push(value);
    }
  } catch (err) {
    reader.cancel().catch(() => {});
    throw unreadable(err);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
  if (chunks.length === 1) return chunks[0]!;
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return all;
}

function bodyTimeout(timeoutMs: number): GatewayError {
  return new GatewayError("request_timeout", `the request body did not arrive within ${timeoutMs} ms`);
}

/** The runtime's reader fails on a malformed chunked encoding or a connection cut mid-body: the client's fault. */
function unreadable(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError("bad_request", `the request body could not be read: ${(err as Error)?.message ?? String(err)}`);
}

/**
 * A body refused part-way is read on and dropped (LINGER_BYTES more at most, for LINGER_MS at most) before the
 * answer: a connection closed with unread bytes is reset, and the client would lose the answer with it. A
 * client still sending past that gets the reset. Nothing read here is kept, so memory stays flat whatever
 * the client sends.
 */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((r) => (timer = setTimeout(() => r(null), LINGER_MS)));
  try {
    for (let n = 0; n <= LINGER_BYTES; ) {
      const r = await Promise.race([reader.read(), late]);
      if (r === null || r.done) break;
      n += r.value.byteLength;
    }
  } catch {
    // The client went away: nothing to wait for.
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    reader.cancel().catch(() => {});
  }
}

/**
 * Whether JSON text nests `[`/`{` deeper than `max`, scanning brackets outside strings (strings are skipped
 * with indexOf, so a body that is mostly prompt text costs little).
 */
export function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Find the closing quote: one not escaped by an odd run of backslashes.
      for (;;) {
        const q = text.indexOf('"', i + 1);
        if (q < 0) return false; // unterminated: JSON.parse will say so
        let slashes = 0;
        while (text.charCodeAt(q - 1 - slashes) === 0x5c) slashes++;
        i = q;
        if (slashes % 2 === 0) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether any string or key in a parsed value holds a surrogate without its pair (depth already bounded). */
function hasLoneSurrogate(v: unknown): boolean {
  if (typeof v === "string") return LONE_SURROGATE.test(v);
  if (Array.isArray(v)) return v.some(hasLoneSurrogate);
  if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) if (LONE_SURROGATE.test(k) || hasLoneSurrogate(x)) return true;
  }
  return false;
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError("payload_too_large", `request body exceeds ${limit} bytes`);
}

/**
 * A union's failure names the value, not the field inside it that failed: the branch that got furthest names
 * it (`messages[0].content[1].text`, not `messages[0].content`).
 */
function innermost(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== "invalid_union") return issue;
  let best: z.core.$ZodIssue | undefined;
  for (const branch of issue.errors) {
    const first = branch[0];
    if (first && first.path.length > 0 && (!best || first.path.length > best.path.length)) best = first;
  }
  return best ? innermost({ ...best, path: [...issue.path, ...best.path] }) : issue;
}

/** Validates with a zod schema; 400 naming the first offending field. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = innermost(r.error.issues[0]!);
  const path = issue.path.length ? issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "") : "body";
  throw new GatewayError("bad_request", `${path}: ${issue.message}`, { details: { param: path } });
}
