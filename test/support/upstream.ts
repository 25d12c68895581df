/**
 * A scriptable provider for tests: a real HTTP server on 127.0.0.1 speaking OpenAI's wire format.
 * A request picks its behaviour with a `[[key=value;...]]` directive anywhere in its last user message:
 *
 *   tag=NAME          groups requests for the log and for `fail_first`
 *   reply=TEXT        the answer (default "Hello from upstream")
 *   reply_repeat=N    the answer is TEXT repeated N times, streamed in one content event
 *   pt,ct,cached,cw,reasoning=N   usage the upstream reports (defaults 11, 7, 0, 0, 0)
 *   status=N          answer with this HTTP status and an OpenAI error body
 *   fail_first=N      with status: only the first N requests of the tag fail, the rest succeed
 *   retry_after=S     Retry-After header on an error
 *   error_message=T   error body message
 *   quote_auth=1      error messages (status=N, error_event_after=N) quote the credentials the request came with,
 *                     as some OpenAI-compatible servers do ("Incorrect API key provided: Bearer sk-...")
 *   reset=1           destroy the connection before any response
 *   hang=1            accept and never answer
 *   first_delay=MS    wait before the response headers
 *   delay=MS          pause between stream chunks
 *   cut_after=N       stream: destroy the connection after N content chunks
 *   stall_after=N     stream: stop sending after N content chunks (connection left open)
 *   error_event_after=N  stream: after N content chunks, an in-band error event, then the end of the stream
 *   garbage_at=N      stream: send a malformed event before content chunk N
 *   no_usage=1        omit usage (stream and non-stream)
 *   no_done=1         stream: end without [DONE]
 *   token_delay=MS    stream: send the headers at once, then wait before the first event
 *   body_delay=MS     non-stream: send the headers at once, then wait before the body
 *   reject_prefill=1  answer 400 to a request whose last message is the assistant's (a prefill)
 *   faults_first=N    cut_after / stall_after / error_event_after apply to the first N requests only
 *   (a request whose last message is the assistant's and a prefix of `reply` is answered the rest of `reply`)
 *   KEY@MODEL=V       KEY=V only for requests whose upstream model is MODEL (e.g. status@gpt-4.1=503), so
 *                     one message can script a primary and its fallback differently; a scoped fail_first
 *                     counts that model's requests of the tag
 *
 * Embeddings (/v1/embeddings, and Gemini's OpenAI-compatible /v1beta/openai/embeddings) read the directive
 * from the input's texts: a deterministic vector per input (`dimensions` long, default 8; base64 when asked),
 * usage `pt` (default 5 per input), `no_usage=1` to leave usage out.
 *
 * The Responses API (/v1/responses) reads the directive from `input`: reply, pt/ct/cached/reasoning (as
 * input_tokens, output_tokens and their details), no_usage, delay, token_delay, and streamed: cut_after=N
 * (destroy the connection after N text deltas, before response.completed), error_event_after=N (a
 * response.failed event after N deltas).
 *
 * Anthropic-format (/v1/messages) and Gemini-format (/v1beta/models/{model}:generateContent and
 * :streamGenerateContent) endpoints, tool calls and reasoning: see upstream-formats.ts.
 *
 * GET /__log?tag=NAME returns what the server received for the tag: [{ at, path, auth, beta, body, closed_at, completed }]
 * (`contains=TEXT` instead: every request whose body holds TEXT anywhere),
 * where closed_at is when the connection of that request closed and completed whether the whole answer was sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fakeVector } from "./fake-vector";
import { errorBody, formatHandler } from "./upstream-formats";

export interface ReceivedRequest {
  at: number;
  path: string;
  auth: string | null;
  /** The anthropic-beta header, if one came. */
  beta: string | null;
  body: Record<string, unknown>;
  /** When the response's connection closed (null while open). */
  closed_at: number | null;
  /** Whether the whole response was written before it closed. */
  completed: boolean;
}

export type Directives = Record<string, string>;

/** The answer a request scripts (reply, repeated reply_repeat times). */
export function replyText(d: Directives): string {
  const reply = d.reply ?? "Hello from upstream";
  return d.reply_repeat ? reply.repeat(Number(d.reply_repeat)) : reply;
}

/** The answer's content pieces: a word each, or the whole answer in one piece when reply_repeat is set. */
export function replyPieces(d: Directives): string[] {
  const reply = replyText(d);
  return d.reply_repeat ? [reply] : (reply.match(/\S+\s*|\s+/g) ?? []);
}

/**
 * A model asked to continue (the last message is the assistant's) continues its scripted answer: if the reply
 * begins with the prefill, it answers the rest (Anthropic's prefill arrives without trailing whitespace, so the
 * rest starts with it, as a real model's continuation does).
 */
function continueScripted(body: Record<string, unknown>, d: Directives): void {
  const last = (body.messages as { role?: string; content?: unknown }[] | undefined)?.at(-1);
  if (last?.role !== "assistant" || d.reply === undefined) return;
  const text = typeof last.content === "string" ? last.content : Array.isArray(last.content) ? last.content.map((p) => (p as { text?: string }).text ?? "").join("") : "";
  if (text !== "" && d.reply.startsWith(text)) d.reply = d.reply.slice(text.length);
}

export function directives(body: Record<string, unknown>): Directives {
  const messages =
    (body.messages as { role: string; content: unknown }[] | undefined) ??
    (body.contents as { role: string; parts: unknown }[] | undefined)?.map((c) => ({ role: c.role, content: c.parts })) ??
    [];
  const texts = messages.map((m) =>
    typeof m.content === "string" ? m.content : Array.isArray(m.content) ? m.content.map((p) => (p as { text?: string }).text ?? "").join("") : "",
  );
  // An embeddings request: its input's texts; a Responses request: its input's messages too.
  if (messages.length === 0 && body.input !== undefined) {
    for (const item of [body.input].flat()) {
      if (typeof item === "string") texts.push(item);
      else if (item && typeof item === "object") {
        const content = (item as { content?: unknown }).content;
        if (typeof content === "string") texts.push(content);
        else if (Array.isArray(content)) texts.push(content.map((p) => (p as { text?: string }).text ?? "").join(""));
      }
    }
  }
  const m = /\[\[(.*?)\]\]/.exec(texts.join("\n"));
  const out: Directives = {};
  if (!m) return out;
  for (const part of m[1]!.split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/** The directives that apply to a request for `model`: unscoped ones, overridden by `KEY@model` ones. */
export function forModel(d: Directives, model: string): Directives {
  const out: Directives = {};
  for (const [k, v] of Object.entries(d)) if (!k.includes("@")) out[k] = v;
  for (const [k, v] of Object.entries(d)) {
    const at = k.indexOf("@");
    if (at > 0 && k.slice(at + 1) === model) out[k.slice(0, at)] = v;
  }
  return out;
}

const num = (d: Directives, k: string, dflt: number) => (d[k] !== undefined ? Number(d[k]) : dflt);

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

/** The deterministic SSE events the upstream streams for a request (content chunks first, then the tail). */
export function openAIStreamEvents(body: Record<string, unknown>, d: Directives): { content: string[]; tail: string[] } {
  const id = `chatcmpl-${d.tag ?? "x"}`;
  const model = String(body.model);
  const base = { id, object: "chat.completion.chunk", created: 1700000000, model };
  const pieces = replyPieces(d);
  const content = [
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }], usage: null })}\n\n`,
    ...pieces.map((p) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: p }, finish_reason: null }], usage: null })}\n\n`),
  ];
  const tail = [`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: null })}\n\n`];
  const wantUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage;
  if (wantUsage && !d.no_usage) tail.push(`data: ${JSON.stringify({ ...base, choices: [], usage: openAIUsage(d) })}\n\n`);
  if (!d.no_done) tail.push("data: [DONE]\n\n");
  return { content, tail };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FakeUpstream {
  server: Server;
  port: number;
  log: ReceivedRequest[];
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>, d: Directives, n: number) => Promise<void>;

async function openAIHandler(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>, d: Directives): Promise<void> {
  if (!body.stream) {
    const reply = replyText(d);
    const out: Record<string, unknown> = {
      id: `chatcmpl-${d.tag ?? "x"}`,
      object: "chat.completion",
      created: 1700000000,
      model: body.model,
      choices: [{ index: 0, message: { role: "assistant", content: reply }, finish_reason: "stop", logprobs: null }],
    };
    if (!d.no_usage) out.usage = openAIUsage(d);
    res.writeHead(200, { "content-type": "application/json" });
    if (d.body_delay) {
      res.flushHeaders();
      await sleep(Number(d.body_delay));
    }
    res.end(JSON.stringify(out));
    return;
  }
  const { content, tail } = openAIStreamEvents(body, d);
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  res.flushHeaders();
  if (d.token_delay) await sleep(Number(d.token_delay));
  const delay = num(d, "delay", 0);
  let written: Promise<void> = Promise.resolve();
  for (let i = 0; i < content.length; i++) {
    if (d.cut_after !== undefined && i >= Number(d.cut_after)) {
      // Let what was written reach the wire first: a provider that dies mid-answer has sent what it sent.
      await written;
      res.socket?.destroy();
      return;
    }
    if (d.stall_after !== undefined && i >= Number(d.stall_after)) return; // left open, silent
    if (d.error_event_after !== undefined && i >= Number(d.error_event_after)) {
      const message = d.quote_auth ? `Incorrect API key provided: ${req.headers.authorization}` : "The server is overloaded";
      res.end(`data: ${JSON.stringify({ error: { message, code: 502 } })}\n\n`);
      return;
    }
    if (d.garbage_at !== undefined && i === Number(d.garbage_at)) res.write("data: {not json at all\n\n");
    if (res.destroyed) return; // the client went away: stop, as a provider would
    written = new Promise<void>((r) => res.write(content[i], () => r()));
    if (delay) await sleep(delay);
  }
  for (const t of tail) res.write(t);
  res.end();
}

export function responsesUsage(d: Directives) {
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

/** OpenAI's Responses API: a Response with one message item, or its SSE event sequence. */
async function responsesHandler(_req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>, d: Directives): Promise<void> {
  const id = `resp_up_${d.tag ?? "x"}`;
  const msgId = `msg_up_${d.tag ?? "x"}`;
  const text = replyText(d);
  const base = { id, object: "response", created_at: 1700000000, model: body.model, error: null, incomplete_details: null, instructions: body.instructions ?? null, tools: body.tools ?? [], store: body.store };
  const message = (t: string, status: string) => ({ type: "message", id: msgId, status, role: "assistant", content: t === "" && status === "in_progress" ? [] : [{ type: "output_text", text: t, annotations: [] }] });
  const done = { ...base, status: "completed", output: [message(text, "completed")], ...(d.no_usage ? {} : { usage: responsesUsage(d) }) };
  if (!body.stream) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(done));
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  res.flushHeaders();
  if (d.token_delay) await sleep(Number(d.token_delay));
  let seq = 0;
  const ev = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`;
  const delay = num(d, "delay", 0);
  res.write(ev("response.created", { response: { ...base, status: "in_progress", output: [] } }));
  res.write(ev("response.in_progress", { response: { ...base, status: "in_progress", output: [] } }));
  res.write(ev("response.output_item.added", { output_index: 0, item: message("", "in_progress") }));
  res.write(ev("response.content_part.added", { item_id: msgId, output_index: 0, content_index: 0, part: { type: "output_text", text: "", annotations: [] } }));
  const pieces = replyPieces(d);
  for (let i = 0; i < pieces.length; i++) {
    if (d.cut_after !== undefined && i >= Number(d.cut_after)) {
      await new Promise<void>((r) => res.write("", () => r()));
      res.socket?.destroy();
      return;
    }
    if (d.error_event_after !== undefined && i >= Number(d.error_event_after)) {
      res.end(ev("response.failed", { response: { ...base, status: "failed", output: [], error: { code: "server_error", message: "The server is overloaded" } } }));
      return;
    }
    if (res.destroyed) return;
    res.write(ev("response.output_text.delta", { item_id: msgId, output_index: 0, content_index: 0, delta: pieces[i] }));
    if (delay) await sleep(delay);
  }
  res.write(ev("response.output_text.done", { item_id: msgId, output_index: 0, content_index: 0, text }));
  res.write(ev("response.content_part.done", { item_id: msgId, output_index: 0, content_index: 0, part: { type: "output_text", text, annotations: [] } }));
  res.write(ev("response.output_item.done", { output_index: 0, item: message(text, "completed") }));
  res.end(ev("response.completed", { response: done }));
}

async function embeddingsHandler(_req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>, d: Directives): Promise<void> {
  const inputs = typeof body.input === "string" || (Array.isArray(body.input) && typeof body.input[0] === "number") ? [body.input] : (body.input as unknown[]);
  const dims = typeof body.dimensions === "number" ? body.dimensions : 8;
  const data = inputs.map((input, index) => {
    const v = fakeVector(JSON.stringify(input), dims);
    const embedding = body.encoding_format === "base64" ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v;
    return { object: "embedding", index, embedding };
  });
  const out: Record<string, unknown> = { object: "list", data, model: body.model };
  const pt = num(d, "pt", 5 * inputs.length);
  if (!d.no_usage) out.usage = { prompt_tokens: pt, total_tokens: pt };
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(out));
}

export async function startFakeUpstream(port = 0, handlers: Record<string, Handler> = {}): Promise<FakeUpstream> {
  const log: ReceivedRequest[] = [];
  const counts = new Map<string, number>();
  const routes: Record<string, Handler> = {
    "/v1/chat/completions": openAIHandler,
    "/v1/embeddings": embeddingsHandler,
    "/v1/responses": responsesHandler,
    "/v1beta/openai/embeddings": embeddingsHandler,
    ...handlers,
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method === "GET" && url.pathname === "/__log") {
      const tag = url.searchParams.get("tag");
      const contains = url.searchParams.get("contains");
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify(
          log.filter((r) => (tag === null || (directives(r.body).tag ?? null) === tag) && (contains === null || JSON.stringify(r.body).includes(contains))),
        ),
      );
      return;
    }
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (raw += c));
    req.on("end", async () => {
      let body: Record<string, unknown> = {};
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      } catch {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "invalid JSON", type: "invalid_request_error" } }));
        return;
      }
      const all = directives(body);
      const model = String(body.model ?? "");
      const d = forModel(all, model);
      const tag = d.tag ?? "";
      const n = (counts.get(tag) ?? 0) + 1;
      counts.set(tag, n);
      const nModel = (counts.get(`${tag}@${model}`) ?? 0) + 1;
      counts.set(`${tag}@${model}`, nModel);
      // A stream's faults for the first N requests only (a scoped faults_first counts that model's requests).
      if (d.faults_first !== undefined && (all[`faults_first@${model}`] !== undefined ? nModel : n) > Number(d.faults_first)) {
        delete d.cut_after;
        delete d.stall_after;
        delete d.error_event_after;
      }
      continueScripted(body, d);
      const entry: ReceivedRequest = {
        at: Date.now(),
        path: url.pathname,
        auth: req.headers.authorization ?? (req.headers["x-api-key"] as string) ?? (req.headers["x-goog-api-key"] as string) ?? null,
        beta: (req.headers["anthropic-beta"] as string | undefined) ?? null,
        body,
        closed_at: null,
        completed: false,
      };
      log.push(entry);
      res.on("close", () => {
        entry.closed_at = Date.now();
        entry.completed = res.writableFinished;
      });
      try {
        if (d.reset) {
          req.socket.destroy();
          return;
        }
        if (d.hang) return;
        if (d.first_delay) await sleep(Number(d.first_delay));
        const nth = all[`fail_first@${model}`] !== undefined ? nModel : n;
        const failing = d.status !== undefined && (d.fail_first === undefined || nth <= Number(d.fail_first));
        const messages = (body.messages as { role?: string }[] | undefined) ?? [];
        if (d.reject_prefill && messages.at(-1)?.role === "assistant") {
          res.writeHead(400, { "content-type": "application/json" });
          res.end(JSON.stringify(errorBody(url.pathname, 400, "the last message must be the user's: prefill is not supported", "invalid_request_error")));
          return;
        }
        if (failing) {
          const headers: Record<string, string> = { "content-type": "application/json" };
          if (d.retry_after !== undefined) headers["retry-after"] = d.retry_after;
          res.writeHead(Number(d.status), headers);
          const message = d.quote_auth ? `Incorrect API key provided: ${entry.auth}` : (d.error_message ?? `injected ${d.status}`);
          res.end(JSON.stringify(errorBody(url.pathname, Number(d.status), message, d.error_code)));
          return;
        }
        const handler = formatHandler(url.pathname, d) ?? routes[url.pathname];
        if (!handler) {
          res.writeHead(404, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { message: `no route ${url.pathname}` } }));
          return;
        }
        await handler(req, res, body, d, n);
      } catch (err) {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(err));
      }
    });
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    log,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
