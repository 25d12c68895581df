/**
 * The fake provider's Anthropic- and Gemini-format endpoints (and OpenAI-format tool calls and reasoning),
 * honouring the directives of upstream.ts, plus:
 *
 *   tool=NAME         answer with a call of tool NAME (stop/finish reason: tool use); its JSON arguments
 *                     stream split across several chunks (Gemini sends a call whole, as Gemini does)
 *   args=JSON         the call's arguments (default {"city":"Paris"})
 *   thinking=TEXT     reasoning text before the answer (Anthropic thinking block, Gemini thought part,
 *                     OpenAI-format `reasoning`)
 *   searches=N        Anthropic: usage.server_tool_use.web_search_requests = N (in message_delta when streamed)
 *
 * POST /v1/messages/count_tokens answers {"input_tokens": pt (default 42)}.
 *
 * Usage directives mean the same normalised counts in every format: pt is the whole prompt (cache reads
 * `cached` and writes `cw` included), ct the whole completion (`reasoning` included). Anthropic reports
 * them as input_tokens = pt − cached − cw and output_tokens_details.thinking_tokens; Gemini as
 * promptTokenCount = pt, cachedContentTokenCount, candidatesTokenCount = ct − reasoning, thoughtsTokenCount.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { openAIUsage, replyPieces, replyText, type Directives } from "./upstream";

type Body = Record<string, unknown>;
type Handler = (req: IncomingMessage, res: ServerResponse, body: Body, d: Directives) => Promise<void>;

const num = (d: Directives, k: string, dflt: number) => (d[k] !== undefined ? Number(d[k]) : dflt);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const words = (s: string) => s.match(/\S+\s*|\s+/g) ?? [];
const reply = replyText;
const toolArgs = (d: Directives) => d.args ?? JSON.stringify({ city: "Paris" });

/** A JSON text cut in three pieces, to exercise argument deltas. */
function splitArgs(json: string): string[] {
  const a = Math.ceil(json.length / 3);
  return [json.slice(0, a), json.slice(a, 2 * a), json.slice(2 * a)].filter((s) => s !== "");
}

export const GEMINI_PATH = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

/** The handler for a path the base OpenAI handler does not serve (or serves without tools / reasoning). */
export function formatHandler(path: string, d: Directives): Handler | undefined {
  if (path === "/v1/messages") return anthropicHandler;
  if (path === "/v1/messages/count_tokens") return anthropicCountHandler;
  if (GEMINI_PATH.test(path)) return geminiHandler;
  if (path === "/v1/chat/completions" && (d.tool || d.thinking)) return openAIRichHandler;
  return undefined;
}

/** An error body in the provider's own shape. */
export function errorBody(path: string, status: number, message: string, code?: string): Body {
  if (path === "/v1/messages") {
    const type = status === 429 ? "rate_limit_error" : status === 529 ? "overloaded_error" : status >= 500 ? "api_error" : status === 401 ? "authentication_error" : "invalid_request_error";
    return { type: "error", error: { type, message } };
  }
  if (GEMINI_PATH.test(path)) {
    const s = status === 429 ? "RESOURCE_EXHAUSTED" : status >= 500 ? "INTERNAL" : status === 404 ? "NOT_FOUND" : "INVALID_ARGUMENT";
    return { error: { code: status, message, status: s } };
  }
  return { error: { message, type: "server_error", code: code ?? null } };
}

/** Writes events, honouring delay / cut_after / stall_after (and, given `errorEvent`, error_event_after) over the content events. */
async function streamEvents(res: ServerResponse, d: Directives, content: string[], tail: string[], errorEvent?: (message: string) => string): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  res.flushHeaders();
  const delay = num(d, "delay", 0);
  let written: Promise<void> = Promise.resolve();
  for (let i = 0; i < content.length; i++) {
    if (d.cut_after !== undefined && i >= Number(d.cut_after)) {
      await written;
      res.socket?.destroy();
      return;
    }
    if (d.stall_after !== undefined && i >= Number(d.stall_after)) return;
    if (errorEvent && d.error_event_after !== undefined && i >= Number(d.error_event_after)) {
      res.end(errorEvent(d.quote_auth ? `invalid x-api-key: ${res.req.headers["x-api-key"]}` : "Overloaded"));
      return;
    }
    if (d.garbage_at !== undefined && i === Number(d.garbage_at)) res.write("data: {not json at all\n\n");
    if (res.destroyed) return;
    written = new Promise<void>((r) => res.write(content[i], () => r()));
    if (delay) await sleep(delay);
  }
  for (const t of tail) res.write(t);
  res.end();
}

// --- Anthropic ---

function anthropicUsage(d: Directives): Body {
  const pt = num(d, "pt", 11);
  const cached = num(d, "cached", 0);
  const cw = num(d, "cw", 0);
  const u: Body = {
    input_tokens: pt - cached - cw,
    output_tokens: num(d, "ct", 7),
    cache_read_input_tokens: cached,
    cache_creation_input_tokens: cw,
  };
  if (d.reasoning) u.output_tokens_details = { thinking_tokens: num(d, "reasoning", 0) };
  if (d.searches) u.server_tool_use = { web_search_requests: num(d, "searches", 0) };
  return u;
}

const aev = (type: string, data: Body) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

function reject(res: ServerResponse, path: string, status: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(errorBody(path, status, message)));
}

/** Anthropic's token count: `pt` (default 42) as input_tokens, with the same header checks as /v1/messages. */
async function anthropicCountHandler(req: IncomingMessage, res: ServerResponse, _body: Body, d: Directives): Promise<void> {
  if (req.headers["anthropic-version"] !== "2023-06-01") return reject(res, "/v1/messages", 400, "anthropic-version: header is required");
  if (!req.headers["x-api-key"]) return reject(res, "/v1/messages", 401, "x-api-key header is required");
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ input_tokens: Number(d.pt ?? 42) }));
}

async function anthropicHandler(req: IncomingMessage, res: ServerResponse, body: Body, d: Directives): Promise<void> {
  // As the real API: a version header and a key are required.
  if (req.headers["anthropic-version"] !== "2023-06-01") return reject(res, "/v1/messages", 400, "anthropic-version: header is required");
  if (!req.headers["x-api-key"]) return reject(res, "/v1/messages", 401, "x-api-key header is required");
  // As the real API: a prefill (a final assistant message) may not end in whitespace.
  const last = (body.messages as { role?: string; content?: unknown }[] | undefined)?.at(-1);
  const lastText = typeof last?.content === "string" ? last.content : Array.isArray(last?.content) ? String((last.content.at(-1) as { text?: string })?.text ?? "") : "";
  if (last?.role === "assistant" && /\s$/.test(lastText)) return reject(res, "/v1/messages", 400, "messages: final assistant content cannot end with trailing whitespace");
  const id = `msg_${d.tag ?? "x"}`;
  const stopReason = d.tool ? "tool_use" : "end_turn";
  if (!body.stream) {
    const content: Body[] = [];
    if (d.thinking) content.push({ type: "thinking", thinking: d.thinking, signature: "sig-upstream" });
    content.push({ type: "text", text: reply(d) });
    if (d.tool) content.push({ type: "tool_use", id: "toolu_1", name: d.tool, input: JSON.parse(toolArgs(d)) });
    const out: Body = { id, type: "message", role: "assistant", model: body.model, content, stop_reason: stopReason, stop_sequence: null };
    if (!d.no_usage) out.usage = anthropicUsage(d);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(out));
    return;
  }
  const usage = anthropicUsage(d);
  const startUsage = d.no_usage ? {} : { ...usage, output_tokens: 1 };
  delete (startUsage as Body).output_tokens_details;
  delete (startUsage as Body).server_tool_use;
  const content: string[] = [aev("message_start", { message: { id, type: "message", role: "assistant", model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: startUsage } })];
  let index = 0;
  if (d.thinking) {
    content.push(aev("content_block_start", { index, content_block: { type: "thinking", thinking: "", signature: "" } }));
    for (const w of words(d.thinking)) content.push(aev("content_block_delta", { index, delta: { type: "thinking_delta", thinking: w } }));
    content.push(aev("content_block_delta", { index, delta: { type: "signature_delta", signature: "sig-upstream" } }));
    content.push(aev("content_block_stop", { index }));
    index++;
  }
  content.push(aev("content_block_start", { index, content_block: { type: "text", text: "" } }));
  for (const w of replyPieces(d)) content.push(aev("content_block_delta", { index, delta: { type: "text_delta", text: w } }));
  content.push(aev("content_block_stop", { index }));
  if (d.tool) {
    index++;
    content.push(aev("content_block_start", { index, content_block: { type: "tool_use", id: "toolu_1", name: d.tool, input: {} } }));
    for (const p of splitArgs(toolArgs(d))) content.push(aev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: p } }));
    content.push(aev("content_block_stop", { index }));
  }
  const tail = [
    aev("message_delta", { delta: { stop_reason: stopReason, stop_sequence: null }, usage: d.no_usage ? {} : { output_tokens: usage.output_tokens, ...(usage.output_tokens_details ? { output_tokens_details: usage.output_tokens_details } : {}), ...(usage.server_tool_use ? { server_tool_use: usage.server_tool_use } : {}) } }),
    aev("message_stop", {}),
  ];
  await streamEvents(res, d, content, tail, (message) => aev("error", { error: { type: "overloaded_error", message } }));
}

// --- Gemini ---

function geminiUsage(d: Directives): Body {
  const pt = num(d, "pt", 11);
  const ct = num(d, "ct", 7);
  const reasoning = num(d, "reasoning", 0);
  const u: Body = { promptTokenCount: pt, candidatesTokenCount: ct - reasoning, totalTokenCount: pt + ct };
  if (d.cached) u.cachedContentTokenCount = num(d, "cached", 0);
  if (reasoning) u.thoughtsTokenCount = reasoning;
  return u;
}

async function geminiHandler(req: IncomingMessage, res: ServerResponse, _body: Body, d: Directives): Promise<void> {
  const url = new URL(req.url ?? "/", "http://x");
  const m = GEMINI_PATH.exec(url.pathname)!;
  if (!req.headers["x-goog-api-key"]) return reject(res, url.pathname, 403, "Method doesn't allow unregistered callers. Please use API Key.");
  if (m[2] === "streamGenerateContent" && url.searchParams.get("alt") !== "sse") return reject(res, url.pathname, 400, "this fake serves streams as alt=sse only");
  const model = decodeURIComponent(m[1]!);
  const finishReason = "STOP";
  const call = d.tool ? { functionCall: { name: d.tool, args: JSON.parse(toolArgs(d)) }, thoughtSignature: "sig-gemini" } : null;
  if (m[2] === "generateContent") {
    const parts: Body[] = [];
    if (d.thinking) parts.push({ text: d.thinking, thought: true });
    parts.push({ text: reply(d) });
    if (call) parts.push(call);
    const out: Body = { candidates: [{ content: { role: "model", parts }, finishReason, index: 0 }], modelVersion: model, responseId: `resp-${d.tag ?? "x"}` };
    if (!d.no_usage) out.usageMetadata = geminiUsage(d);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(out));
    return;
  }
  const chunk = (parts: Body[], extra: Body = {}) =>
    `data: ${JSON.stringify({ candidates: [{ content: { role: "model", parts }, index: 0, ...extra }], ...(d.no_usage ? {} : { usageMetadata: { promptTokenCount: num(d, "pt", 11) } }), modelVersion: model })}\n\n`;
  const content: string[] = [];
  if (d.thinking) for (const w of words(d.thinking)) content.push(chunk([{ text: w, thought: true }]));
  for (const w of replyPieces(d)) content.push(chunk([{ text: w }]));
  if (call) content.push(chunk([call]));
  const last = { candidates: [{ content: { role: "model", parts: [{ text: "" }] }, finishReason, index: 0 }], modelVersion: model, ...(d.no_usage ? {} : { usageMetadata: geminiUsage(d) }) };
  await streamEvents(res, d, content, [`data: ${JSON.stringify(last)}\n\n`]);
}

// --- OpenAI format, with tool calls and reasoning ---

async function openAIRichHandler(_req: IncomingMessage, res: ServerResponse, body: Body, d: Directives): Promise<void> {
  const id = `chatcmpl-${d.tag ?? "x"}`;
  const finish = d.tool ? "tool_calls" : "stop";
  if (!body.stream) {
    const message: Body = { role: "assistant", content: reply(d) };
    if (d.thinking) message.reasoning = d.thinking;
    if (d.tool) message.tool_calls = [{ id: "call_1", type: "function", function: { name: d.tool, arguments: toolArgs(d) } }];
    const out: Body = { id, object: "chat.completion", created: 1700000000, model: body.model, choices: [{ index: 0, message, finish_reason: finish, logprobs: null }] };
    if (!d.no_usage) out.usage = openAIUsage(d);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(out));
    return;
  }
  const base = { id, object: "chat.completion.chunk", created: 1700000000, model: body.model };
  const ev = (delta: Body, finishReason: string | null = null) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`;
  const content = [ev({ role: "assistant", content: "" })];
  if (d.thinking) for (const w of words(d.thinking)) content.push(ev({ reasoning: w }));
  for (const w of replyPieces(d)) content.push(ev({ content: w }));
  if (d.tool) {
    content.push(ev({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: d.tool, arguments: "" } }] }));
    for (const p of splitArgs(toolArgs(d))) content.push(ev({ tool_calls: [{ index: 0, function: { arguments: p } }] }));
  }
  const tail = [ev({}, finish)];
  const wantUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage;
  if (wantUsage && !d.no_usage) tail.push(`data: ${JSON.stringify({ ...base, choices: [], usage: openAIUsage(d) })}\n\n`);
  if (!d.no_done) tail.push("data: [DONE]\n\n");
  await streamEvents(res, d, content, tail);
}
