import { AttemptError } from "../core/errors";
import type { ResolvedProvider } from "./types";

export type UpstreamEndpoint = "chat" | "embeddings" | "responses";

export interface UpstreamCall {
  provider: ResolvedProvider;
  upstreamModel: string;
  stream: boolean;
  body: string;
  signal: AbortSignal;
  /** Headers of this call only (e.g. the client's anthropic-beta), over the adapter's. */
  headers?: Record<string, string>;
  /** Which of the provider's endpoints: chat (the default), embeddings or responses (the adapter's own). */
  endpoint?: UpstreamEndpoint;
}

/** Sends one call to a provider; resolves with its response headers, whatever the status. */
export async function sendUpstream(call: UpstreamCall): Promise<Response> {
  const { adapter, baseUrl, apiKey } = call.provider;
  const embeddings = call.endpoint === "embeddings" ? adapter.embeddings : undefined;
  if (call.endpoint === "embeddings" && !embeddings) throw new AttemptError(0, `${adapter.id} serves no embeddings`, "unreachable");
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: call.stream ? "text/event-stream" : "application/json",
    ...adapter.staticHeaders,
    ...call.headers,
    ...(apiKey ? (embeddings?.authHeaders ? embeddings.authHeaders(apiKey) : adapter.authHeaders(apiKey)) : {}),
  };
  const responses = call.endpoint === "responses" ? adapter.responses : undefined;
  if (call.endpoint === "responses" && !responses) throw new AttemptError(0, `${adapter.id} does not serve the Responses API`, "unreachable");
  const url = embeddings ? embeddings.url(baseUrl) : responses ? responses.url(baseUrl) : adapter.chatUrl(baseUrl, call.upstreamModel, call.stream);
  const init: RequestInit = { method: "POST", headers, body: call.body, signal: call.signal };
  return adapter.fetch ? adapter.fetch(new Request(url, init)) : fetch(url, init);
}

/** The provider's own error message from an error body, whatever its format. */
export function upstreamErrorMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof j.error === "string") return j.error;
    if (j.error && typeof j.error.message === "string") return j.error.message;
    if (typeof j.message === "string") return j.message;
  } catch {
    // not JSON: fall through to the text
  }
  return text.slice(0, 500).trim() || "no error message";
}

/** Retry-After (seconds or HTTP date) in ms. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const v = headers.get("retry-after");
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
