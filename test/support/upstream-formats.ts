/**
 * The fake provider's wire formats: what each answers, as data for the fault loop (upstream-faults.ts) to send.
 * OpenAI chat completions, OpenAI Responses, embeddings (OpenAI's and Gemini's OpenAI-compatible path),
 * Anthropic messages (and count_tokens), Gemini generateContent / streamGenerateContent (alt=sse). Besides the
 * directives of upstream-directives.ts:
 *
 *   tool=NAME         answer with a call of tool NAME (stop/finish reason: tool use); its JSON arguments
 *                     stream split across several chunks (Gemini sends a call whole, as Gemini does)
 *   args=JSON         the call's arguments (default {"city":"Paris"})
 *   thinking=TEXT     reasoning text before the answer (Anthropic thinking block, Gemini thought part,
 *                     OpenAI-format `reasoning`)
 *   searches=N        Anthropic: usage.server_tool_use.web_search_requests = N (in message_delta when streamed)
 *
 * Embeddings: a deterministic vector per input (`dimensions` long, default 8; base64 when asked).
 * POST /v1/messages/count_tokens answers {"input_tokens": pt (default 42)}.
 *
 * Usage directives mean the same normalised counts in every format: pt is the whole prompt (cache reads
 * `cached` and writes `cw` included), ct the whole completion (`reasoning` included). Anthropic reports
 * them as input_tokens = pt − cached − cw and output_tokens_details.thinking_tokens; Gemini as
 * promptTokenCount = pt, cachedContentTokenCount, candidatesTokenCount = ct − reasoning, thoughtsTokenCount;
 * Responses as input_tokens / output_tokens and their details.
 */
import type { IncomingMessage } from "node:http";
import { fakeVector } from "./fake-vector";
import { num, replyPieces, replyText, words, type Directives } from "./upstream-directives";
import type { ErrorBody, Reply } from "./upstream-faults";

type Body = Record<string, unknown>;
/** A wire format's answer to a request, before any fault. */
export type Encoder = (req: IncomingMessage, body: Body, d: Directives) => Reply;

const sse = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
const toolArgs = (d: Directives) => d.args ?? JSON.stringify({ city: "Paris" });

/** A JSON text cut in three pieces, to exercise argument deltas. */
function splitArgs(json: string): string[] {
  const a = Math.ceil(json.length / 3);
  return [json.slice(0, a), json.slice(a, 2 * a), json.slice(2 * a)].filter((s) => s !== "");
}

export const GEMINI_PATH = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

/** The upstream model a request is for (Gemini names it in the path, the others in the body). */
export function modelOf(path: string, body: Body): string {
  const gemini = GEMINI_PATH.exec(path);
  return gemini ? decodeURIComponent(gemini[1]!) : String(body.model ?? "");
}

/** The encoder of a path, if the fake serves it. */
export function encoderFor(path: string): Encoder | undefined {
  if (path === "/v1/chat/completions") return openAIChat;
  if (path === "/v1/responses") return responses;
  if (path === "/v1/embeddings" || path === "/v1beta/openai/embeddings") return embeddings;
  if (path === "/v1/messages") return anthropic;
  if (path === "/v1/messages/count_tokens") return anthropicCount;
  if (GEMINI_PATH.test(path)) return gemini;
  return undefined;
}

/** An error body in the provider's own shape. */
export function errorBodyFor(path: string): ErrorBody {
  if (path.startsWith("/v1/messages")) {
    return (status, message) => {
      const type = status === 429 ? "rate_limit_error" : status === 529 ? "overloaded_error" : status >= 500 ? "api_error" : status === 401 ? "authentication_error" : "invalid_request_error";
      return { type: "error", error: { type, message } };
    };
  }
  if (GEMINI_PATH.test(path)) {
    return (status, message) => {
      const s = status === 429 ? "RESOURCE_EXHAUSTED" : status >= 500 ? "INTERNAL" : status === 404 ? "NOT_FOUND" : "INVALID_ARGUMENT";
      return { error: { code: status, message, status: s } };
    };
  }
  return (_status, message, code) => ({ error: { message, type: "server_error", code: code ?? null } });
}

const refuse = (path: string, status: number, message: string): Reply => ({ status, json: errorBodyFor(path)(status, message) });

// --- OpenAI chat completions ---

export function openAIUsage(d: Directives) {
  const pt = num(d, "pt", 11);
  const ct = num(d, "ct", 7);
  return {
    prompt_tokens: pt,
    completion_tokens: ct,
    total_tokens: pt + ct,
    prompt_tokens_details: { cached_tokens: num(d, "cached", 0), ...(d.cw ? { cache_write_tokens: num(d, "cw", 0) } : {}) },
    completion_tokens_details: { reasoning_tokens: num(d, "reasoning", 0) },
  };
}

const openAIChat: Encoder = (_req, body, d) => {
  const id = `chatcmpl-${d.tag ?? "x"}`;
  const finish = d.tool ? "tool_calls" : "stop";
  if (!body.stream) {
    const message: Body = { role: "assistant", content: replyText(d) };
    if (d.thinking) message.reasoning = d.thinking;
    if (d.tool) message.tool_calls = [{ id: "call_1", type: "function", function: { name: d.tool, arguments: toolArgs(d) } }];
    const out: Body = { id, object: "chat.completion", created: 1700000000, model: body.model, choices: [{ index: 0, message, finish_reason: finish, logprobs: null }] };
    if (!d.no_usage) out.usage = openAIUsage(d);
    return { json: out };
  }
  const base = { id, object: "chat.completion.chunk", created: 1700000000, model: body.model };
  const ev = (delta: Body, finishReason: string | null = null) => sse({ ...base, choices: [{ index: 0, delta, finish_reason: finishReason }], usage: null });
  const content = [ev({ role: "assistant", content: "" })];
  if (d.thinking) for (const w of words(d.thinking)) content.push(ev({ reasoning: w }));
  for (const w of replyPieces(d)) content.push(ev({ content: w }));
  if (d.tool) {
    content.push(ev({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: d.tool, arguments: "" } }] }));
    for (const p of splitArgs(toolArgs(d))) content.push(ev({ tool_calls: [{ index: 0, function: { arguments: p } }] }));
  }
  const tail = [ev({}, finish)];
  const wantUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage;
  if (wantUsage && !d.no_usage) tail.push(sse({ ...base, choices: [], usage: openAIUsage(d) }));
  if (!d.no_done) tail.push("data: [DONE]\n\n");
  return { stream: { content, tail, errorEvent: (message) => sse({ error: { message, code: 502 } }) } };
};

// --- OpenAI Responses ---

function responsesUsage(d: Directives) {
  const pt = num(d, "pt", 11);
  const ct = num(d, "ct", 7);
  return {
    input_tokens: pt,
    input_tokens_details: { cached_tokens: num(d, "cached", 0) },
    output_tokens: ct,
    output_tokens_details: { reasoning_tokens: num(d, "reasoning", 0) },
    total_tokens: pt + ct,
  };
}

/** A Response with one message item, or its SSE event sequence. */
const responses: Encoder = (_req, body, d) => {
  const msgId = `msg_up_${d.tag ?? "x"}`;
  const text = replyText(d);
  const base = { id: `resp_up_${d.tag ?? "x"}`, object: "response", created_at: 1700000000, model: body.model, error: null, incomplete_details: null, instructions: body.instructions ?? null, tools: body.tools ?? [], store: body.store };
  const message = (t: string, status: string) => ({ type: "message", id: msgId, status, role: "assistant", content: t === "" && status === "in_progress" ? [] : [{ type: "output_text", text: t, annotations: [] }] });
  const done = { ...base, status: "completed", output: [message(text, "completed")], ...(d.no_usage ? {} : { usage: responsesUsage(d) }) };
  if (!body.stream) return { json: done };
  let seq = 0;
  const ev = (type: string, data: Body, sequence_number = seq++) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number, ...data })}\n\n`;
  const part = { item_id: msgId, output_index: 0, content_index: 0 };
  const head = [
    ev("response.created", { response: { ...base, status: "in_progress", output: [] } }),
    ev("response.in_progress", { response: { ...base, status: "in_progress", output: [] } }),
    ev("response.output_item.added", { output_index: 0, item: message("", "in_progress") }),
    ev("response.content_part.added", { ...part, part: { type: "output_text", text: "", annotations: [] } }),
  ];
  const content = replyPieces(d).map((delta) => ev("response.output_text.delta", { ...part, delta }));
  const tail = [
    ev("response.output_text.done", { ...part, text }),
    ev("response.content_part.done", { ...part, part: { type: "output_text", text, annotations: [] } }),
    ev("response.output_item.done", { output_index: 0, item: message(text, "completed") }),
    ev("response.completed", { response: done }),
  ];
  const errorEvent = (message: string, at: number) =>
    ev("response.failed", { response: { ...base, status: "failed", output: [], error: { code: "server_error", message } } }, head.length + at);
  return { stream: { head, content, tail, errorEvent } };
};

// --- Embeddings ---

const embeddings: Encoder = (_req, body, d) => {
  const inputs = typeof body.input === "string" || (Array.isArray(body.input) && typeof body.input[0] === "number") ? [body.input] : (body.input as unknown[]);
  const dims = typeof body.dimensions === "number" ? body.dimensions : 8;
  const data = inputs.map((input, index) => {
    const v = fakeVector(JSON.stringify(input), dims);
    const embedding = body.encoding_format === "base64" ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v;
    return { object: "embedding", index, embedding };
  });
  const out: Body = { object: "list", data, model: body.model };
  const pt = num(d, "pt", 5 * inputs.length);
  if (!d.no_usage) out.usage = { prompt_tokens: pt, total_tokens: pt };
  return { json: out };
};

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

/** As the real API: a version header and a key are required. */
function anthropicHeaders(req: IncomingMessage): Reply | undefined {
  if (req.headers["anthropic-version"] !== "2023-06-01") return refuse("/v1/messages", 400, "anthropic-version: header is required");
  if (!req.headers["x-api-key"]) return refuse("/v1/messages", 401, "x-api-key header is required");
  return undefined;
}

/** Anthropic's token count: `pt` (default 42) as input_tokens, with the same header checks as /v1/messages. */
const anthropicCount: Encoder = (req, _body, d) => anthropicHeaders(req) ?? { json: { input_tokens: Number(d.pt ?? 42) } };

const anthropic: Encoder = (req, body, d) => {
  const refused = anthropicHeaders(req);
  if (refused) return refused;
  // As the real API: a prefill (a final assistant message) may not end in whitespace.
  const last = (body.messages as { role?: string; content?: unknown }[] | undefined)?.at(-1);
  const lastText = typeof last?.content === "string" ? last.content : Array.isArray(last?.content) ? String((last.content.at(-1) as { text?: string })?.text ?? "") : "";
  if (last?.role === "assistant" && /\s$/.test(lastText)) return refuse("/v1/messages", 400, "messages: final assistant content cannot end with trailing whitespace");
  const id = `msg_${d.tag ?? "x"}`;
  const stopReason = d.tool ? "tool_use" : "end_turn";
  if (!body.stream) {
    const content: Body[] = [];
    if (d.thinking) content.push({ type: "thinking", thinking: d.thinking, signature: "sig-upstream" });
    content.push({ type: "text", text: replyText(d) });
    if (d.tool) content.push({ type: "tool_use", id: "toolu_1", name: d.tool, input: JSON.parse(toolArgs(d)) });
    const out: Body = { id, type: "message", role: "assistant", model: body.model, content, stop_reason: stopReason, stop_sequence: null };
    if (!d.no_usage) out.usage = anthropicUsage(d);
    return { json: out };
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
  return { stream: { content, tail, errorEvent: (message) => aev("error", { error: { type: "overloaded_error", message } }) } };
};

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

const gemini: Encoder = (req, _body, d) => {
  const url = new URL(req.url ?? "/", "http://x");
  const m = GEMINI_PATH.exec(url.pathname)!;
  if (!req.headers["x-goog-api-key"]) return refuse(url.pathname, 403, "Method doesn't allow unregistered callers. Please use API Key.");
  if (m[2] === "streamGenerateContent" && url.searchParams.get("alt") !== "sse") return refuse(url.pathname, 400, "this fake serves streams as alt=sse only");
  const model = decodeURIComponent(m[1]!);
  const finishReason = "STOP";
  const call = d.tool ? { functionCall: { name: d.tool, args: JSON.parse(toolArgs(d)) }, thoughtSignature: "sig-gemini" } : null;
  if (m[2] === "generateContent") {
    const parts: Body[] = [];
    if (d.thinking) parts.push({ text: d.thinking, thought: true });
    parts.push({ text: replyText(d) });
    if (call) parts.push(call);
    const out: Body = { candidates: [{ content: { role: "model", parts }, finishReason, index: 0 }], modelVersion: model, responseId: `resp-${d.tag ?? "x"}` };
    if (!d.no_usage) out.usageMetadata = geminiUsage(d);
    return { json: out };
  }
  const chunk = (parts: Body[]) =>
    sse({ candidates: [{ content: { role: "model", parts }, index: 0 }], ...(d.no_usage ? {} : { usageMetadata: { promptTokenCount: num(d, "pt", 11) } }), modelVersion: model });
  const content: string[] = [];
  if (d.thinking) for (const w of words(d.thinking)) content.push(chunk([{ text: w, thought: true }]));
  for (const w of replyPieces(d)) content.push(chunk([{ text: w }]));
  if (call) content.push(chunk([call]));
  const last = { candidates: [{ content: { role: "model", parts: [{ text: "" }] }, finishReason, index: 0 }], modelVersion: model, ...(d.no_usage ? {} : { usageMetadata: geminiUsage(d) }) };
  const errorEvent = (message: string) => sse(errorBodyFor(url.pathname)(500, message));
  return { stream: { content, tail: [sse(last)], errorEvent } };
};
