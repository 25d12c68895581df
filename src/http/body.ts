import type { z } from "zod";
import type { Env } from "../env";
import { GatewayError } from "./errors";

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export function maxBodyBytes(env: Env): number {
  const v = Number(env.MAX_BODY_BYTES);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_MAX_BODY_BYTES;
}

/** Reads a JSON request body: 413 over the limit (checked before and while reading), 400 if not JSON. */
export async function readJsonBody(req: Request, limit: number): Promise<unknown> {
  const declared = Number(req.headers.get("content-length"));
  if (declared > limit) throw tooLarge(limit);
  let text: string;
  if (req.body === null) text = "";
  else if (declared > 0) text = await req.text();
  else text = await readCapped(req.body, limit);
  if (text.length > limit) throw tooLarge(limit);
  if (text.trim() === "") throw new GatewayError("invalid_json", "request body is empty; send a JSON object");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new GatewayError("invalid_json", `request body is not valid JSON: ${(err as Error).message}`);
  }
}

async function readCapped(body: ReadableStream<Uint8Array>, limit: number): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError("payload_too_large", `request body exceeds ${limit} bytes`);
}

/** Validates with a zod schema; 400 naming the first offending field. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.length ? issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "") : "body";
  throw new GatewayError("bad_request", `${path}: ${issue.message}`, { details: { param: path } });
}
