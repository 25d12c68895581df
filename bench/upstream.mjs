// The benchmark's provider: an OpenAI-shaped /v1/chat/completions on node:http with keep-alive, answering
// from precomputed bytes so that it costs as little as possible next to the targets it feeds.
//
// A request chooses its answer with ordinary OpenAI fields, so any gateway forwards them unchanged:
//   stream: true            SSE: `max_tokens` content chunks (default 20), a finish chunk, a usage chunk, [DONE]
//   metadata.bench_delay_ms pause between stream chunks (default: the server's --chunk-delay)
//   metadata.bench_bytes    stream: about this many bytes of content chunks (the long-stream memory probe)
// Run as a child process (`node bench/upstream.mjs [--port N] [--chunk-delay MS]`), it prints
// `{"port": N}` once listening and exits when its parent goes.
import { createServer } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const CREATED = 1_700_000_000;
const ID = "chatcmpl-bench0000000000000000000";
const USAGE = { prompt_tokens: 19, completion_tokens: 20, total_tokens: 39, prompt_tokens_details: { cached_tokens: 0 } };

const JSON_BODY = Buffer.from(
  JSON.stringify({
    id: ID,
    object: "chat.completion",
    created: CREATED,
    model: "gpt-4o-mini-2024-07-18",
    choices: [{ index: 0, message: { role: "assistant", content: "The quick brown fox jumps over the lazy dog.", refusal: null }, logprobs: null, finish_reason: "stop" }],
    usage: USAGE,
    system_fingerprint: "fp_bench",
  }),
);

const chunk = (delta, finish = null, extra = {}) =>
  Buffer.from(
    `data: ${JSON.stringify({
      id: ID,
      object: "chat.completion.chunk",
      created: CREATED,
      model: "gpt-4o-mini-2024-07-18",
      system_fingerprint: "fp_bench",
      choices: delta === null ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...extra,
    })}\n\n`,
  );

const FIRST = chunk({ role: "assistant", content: "", refusal: null });
const TOKEN = chunk({ content: " token" });
const FINISH = chunk({}, "stop");
const DONE = Buffer.from("data: [DONE]\n\n");
const usageChunk = (completion) =>
  chunk(null, null, { usage: { ...USAGE, completion_tokens: completion, total_tokens: USAGE.prompt_tokens + completion } });

/** The events of one stream, precomputed per token count. */
const streams = new Map();
function streamEvents(tokens) {
  let events = streams.get(tokens);
  if (!events) {
    events = [FIRST, ...Array.from({ length: tokens }, () => TOKEN), FINISH, usageChunk(tokens), DONE];
    if (streams.size < 64) streams.set(tokens, events);
  }
  return events;
}

const JSON_HEADERS = { "content-type": "application/json", "content-length": String(JSON_BODY.length) };
const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" };

const STREAM_TRUE = Buffer.from('"stream":true');

/** Reads the request as cheaply as possible: only a stream, or a request with metadata, is parsed. */
function parseRequest(body) {
  if (body.indexOf(STREAM_TRUE) === -1 && body.indexOf('"stream": true') === -1) return { stream: false };
  const req = JSON.parse(body.toString("utf8"));
  const meta = req.metadata ?? {};
  return {
    stream: true,
    tokens: Number.isInteger(req.max_tokens) && req.max_tokens > 0 ? req.max_tokens : 20,
    delayMs: meta.bench_delay_ms !== undefined ? Number(meta.bench_delay_ms) : undefined,
    bytes: meta.bench_bytes !== undefined ? Number(meta.bench_bytes) : 0,
  };
}

async function writeStream(res, events, delayMs) {
  res.writeHead(200, SSE_HEADERS);
  if (delayMs <= 0) {
    for (const e of events) res.write(e);
    res.end();
    return;
  }
  for (let i = 0; i < events.length; i++) {
    if (i > 0) await sleep(delayMs);
    if (res.destroyed) return;
    res.write(events[i]);
  }
  res.end();
}

/** About `bytes` of content chunks, written in 64 KiB slabs and only as fast as the reader takes them. */
async function writeLongStream(res, bytes) {
  const per = Math.floor(65536 / TOKEN.length);
  const slab = Buffer.concat(Array.from({ length: per }, () => TOKEN));
  const slabs = Math.max(1, Math.round(bytes / slab.length));
  res.writeHead(200, SSE_HEADERS);
  res.write(FIRST);
  for (let i = 0; i < slabs; i++) {
    if (res.destroyed) return;
    if (!res.write(slab)) await new Promise((r) => res.once("drain", r));
  }
  res.write(FINISH);
  res.write(usageChunk(slabs * per));
  res.end(DONE);
}

export function startUpstream({ port = 0, host = "127.0.0.1", chunkDelayMs = 0 } = {}) {
  const server = createServer({ keepAlive: true, keepAliveTimeout: 60_000 }, (req, res) => {
    const parts = [];
    req.on("data", (d) => parts.push(d));
    req.on("end", () => {
      if (req.method !== "POST" || !req.url.endsWith("/chat/completions")) {
        res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"message":"not found"}}');
        return;
      }
      let r;
      try {
        r = parseRequest(parts.length === 1 ? parts[0] : Buffer.concat(parts));
      } catch {
        res.writeHead(400, { "content-type": "application/json" }).end('{"error":{"message":"body is not JSON"}}');
        return;
      }
      if (!r.stream) res.writeHead(200, JSON_HEADERS).end(JSON_BODY);
      else if (r.bytes > 0) void writeLongStream(res, r.bytes);
      else void writeStream(res, streamEvents(r.tokens), r.delayMs ?? chunkDelayMs);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  return new Promise((resolve) => {
    server.listen(port, host, () => resolve({ port: server.address().port, close: () => new Promise((r) => server.close(r)), server }));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i === -1 ? dflt : process.argv[i + 1];
  };
  const up = await startUpstream({ port: Number(arg("--port", 0)), chunkDelayMs: Number(arg("--chunk-delay", 0)) });
  process.stdout.write(`${JSON.stringify({ port: up.port })}\n`);
  // Exit with the parent: stdin closes when it goes.
  process.stdin.on("end", () => process.exit(0)).resume();
}
