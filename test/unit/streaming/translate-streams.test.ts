import { describe, expect, it } from "vitest";
import type { CatalogModel, ProviderInfo } from "../../../src/catalog/types";
import { GatewayError } from "../../../src/core/errors";
import type { GatewayRequest } from "../../../src/core/request";
import { dropUnsupported, excludeUnsupported } from "../../../src/providers/capabilities";
import { builtinCatalog } from "../../../src/catalog";
import { encodeOpenAIStream } from "../../../src/streaming/encode-openai";
import { StreamState, type PivotChunk } from "../../../src/streaming/pivot";
import { sseEvents, type SseEvent } from "../../../src/streaming/sse-parse";
import { decodeAnthropicStream } from "../../../src/streaming/decode-anthropic";
import { decodeGeminiStream } from "../../../src/streaming/decode-gemini";
import { decodeOpenAIStream } from "../../../src/streaming/decode-openai";
import { encodeAnthropicStream } from "../../../src/streaming/encode-anthropic";

const enc = new TextEncoder();
async function* bytes(...parts: string[]) {
  for (const p of parts) yield enc.encode(p);
}
async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
async function* events(list: SseEvent[]) {
  yield* list;
}
const ev = (type: string, data: object): SseEvent => ({ event: type, data: JSON.stringify({ type, ...data }) });
const ending = (tokens = { prompt_tokens: 10, completion_tokens: 5, cached_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0 }) => ({
  bill: () => ({ tokens, cost: 1_500_000n }),
});

describe("sseEvents", () => {
  it("reassembles events split across chunks, CRLF and multi-line data included, and ignores comments", async () => {
    const got = await collect(sseEvents(bytes("event: a\r\nda", "ta: {\"x\":1}\r\n\r\n: ping\n\ndata: l1\ndata: l2\n", "\ndata: last")));
    expect(got).toEqual([
      { event: "a", data: '{"x":1}' },
      { event: null, data: "l1\nl2" },
      { event: null, data: "last" },
    ]);
  });

  it("joins a character split across chunks and a CR split from its LF; a block with no data line is no event", async () => {
    const snow = enc.encode("data: ☃\r\n");
    async function* parts() {
      yield snow.subarray(0, 7);
      yield snow.subarray(7, snow.length - 1);
      yield enc.encode("\n\r");
      yield enc.encode("\nevent: ping\n\ndata: after\r\r");
    }
    expect(await collect(sseEvents(parts()))).toEqual([
      { event: null, data: "☃" },
      { event: null, data: "after" },
    ]);
  });
});

describe("Anthropic stream → pivot", () => {
  it("reads text, thinking, signatures, tool arguments and both halves of usage", async () => {
    const state = new StreamState();
    const chunks = await collect(
      decodeAnthropicStream(
        events([
          ev("message_start", { message: { usage: { input_tokens: 3, cache_read_input_tokens: 7, output_tokens: 1 } } }),
          ev("content_block_start", { index: 0, content_block: { type: "thinking", thinking: "" } }),
          ev("content_block_delta", { index: 0, delta: { type: "thinking_delta", thinking: "hm" } }),
          ev("content_block_delta", { index: 0, delta: { type: "signature_delta", signature: "s" } }),
          ev("content_block_start", { index: 1, content_block: { type: "text", text: "" } }),
          ev("content_block_delta", { index: 1, delta: { type: "text_delta", text: "hi" } }),
          ev("ping", {}),
          ev("content_block_start", { index: 2, content_block: { type: "tool_use", id: "t", name: "f", input: {} } }),
          ev("content_block_delta", { index: 2, delta: { type: "input_json_delta", partial_json: '{"a"' } }),
          ev("content_block_delta", { index: 2, delta: { type: "input_json_delta", partial_json: ":1}" } }),
          ev("message_delta", { delta: { stop_reason: "tool_use" }, usage: { output_tokens: 12 } }),
          ev("message_stop", {}),
        ]),
        state,
      ),
    );
    expect(chunks.map((c) => c.delta)).toEqual([
      { role: "assistant", content: "" },
      { reasoning: "hm" },
      { reasoning_details: [{ type: "reasoning.text", text: "", signature: "s", format: "anthropic-claude-v1" }] },
      { content: "hi" },
      { tool_calls: [{ index: 0, id: "t", type: "function", function: { name: "f", arguments: "" } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"a"' } }] },
      { tool_calls: [{ index: 0, function: { arguments: ":1}" } }] },
      {},
    ]);
    expect(chunks.at(-1)!.finish_reason).toBe("tool_calls");
    expect(state).toMatchObject({ finished: true, usageFinal: true, usage: { prompt_tokens: 10, cached_tokens: 7, completion_tokens: 12 } });
  });

  it("an error event ends the stream unfinished, with the provider's message", async () => {
    const state = new StreamState();
    await collect(decodeAnthropicStream(events([ev("message_start", { message: {} }), ev("error", { error: { type: "overloaded_error", message: "Overloaded" } })]), state));
    expect(state.finished).toBe(false);
    expect(state.error).toBe("overloaded_error: Overloaded");
  });
});

describe("Gemini stream → pivot", () => {
  it("reads thoughts, text and whole function calls; finished only after a finish reason and a clean end", async () => {
    const state = new StreamState();
    const data = (o: object): SseEvent => ({ event: null, data: JSON.stringify(o) });
    const chunks = await collect(
      decodeGeminiStream(
        events([
          data({ candidates: [{ content: { parts: [{ text: "th", thought: true }] } }], usageMetadata: { promptTokenCount: 9 } }),
          data({ candidates: [{ content: { parts: [{ text: "a" }, { functionCall: { name: "f", args: { x: 1 } } }] } }] }),
          data({ candidates: [{ content: { parts: [] }, finishReason: "STOP" }], usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 4, thoughtsTokenCount: 2 } }),
        ]),
        state,
      ),
    );
    expect(chunks[1]!.delta).toEqual({ reasoning: "th" });
    expect(chunks[3]!.delta.tool_calls![0]).toMatchObject({ index: 0, function: { name: "f", arguments: '{"x":1}' } });
    expect(chunks.at(-1)!.finish_reason).toBe("tool_calls");
    expect(state).toMatchObject({ finished: true, usageFinal: true, usage: { prompt_tokens: 9, completion_tokens: 6, reasoning_tokens: 2 } });
  });

  it("a stream without a finish reason is not finished and its usage not final", async () => {
    const state = new StreamState();
    await collect(decodeGeminiStream(events([{ event: null, data: JSON.stringify({ candidates: [{ content: { parts: [{ text: "abcdefgh" }] } }], usageMetadata: { promptTokenCount: 9 } }) }]), state));
    expect(state.finished).toBe(false);
    expect(state.tokens(() => 99)).toEqual({ tokens: { prompt_tokens: 9, completion_tokens: 2, cached_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0 }, estimated: true });
  });
});

describe("OpenAI stream → pivot", () => {
  it("reads deltas and usage; [DONE] finishes; DeepSeek's reasoning_content is reasoning", async () => {
    const state = new StreamState();
    const d = (o: object): SseEvent => ({ event: null, data: JSON.stringify(o) });
    const chunks = await collect(
      decodeOpenAIStream(
        events([
          d({ choices: [{ delta: { role: "assistant", reasoning_content: "r" } }] }),
          { event: null, data: "{broken" },
          d({ choices: [{ delta: { content: "x" }, finish_reason: "stop" }] }),
          d({ choices: [], usage: { prompt_tokens: 4, completion_tokens: 2 } }),
          { event: null, data: "[DONE]" },
        ]),
        state,
      ),
    );
    expect(chunks[0]!.delta).toEqual({ role: "assistant", reasoning: "r" });
    expect(state).toMatchObject({ finished: true, usageFinal: true, dropped: 1, finishReason: "stop" });
  });
});

describe("pivot → client streams", () => {
  const pivot: PivotChunk[] = [
    { delta: { role: "assistant", content: "" } },
    { delta: { reasoning: "think" } },
    { delta: { content: "Hel" } },
    { delta: { content: "lo" } },
    { delta: { tool_calls: [{ index: 0, id: "c1", function: { name: "f", arguments: "" } }] } },
    { delta: { tool_calls: [{ index: 0, function: { arguments: "{}" } }] } },
    { delta: { tool_calls: [{ index: 1, id: "c2", function: { name: "g", arguments: "{}" } }] } },
    { delta: {}, finish_reason: "tool_calls" },
  ];
  async function* chunks() {
    yield* pivot;
  }

  it("Anthropic: one block at a time, thinking only when asked, stop reason and usage with cost at the end", async () => {
    const state = new StreamState();
    state.finished = true;
    state.finishReason = "tool_calls";
    const text = (await collect(encodeAnthropicStream(chunks(), state, ending(), { id: "msg_1", model: "m", thinking: false }))).join("");
    const types = [...text.matchAll(/^event: (.*)$/gm)].map((m) => m[1]);
    expect(types).toEqual([
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(text).toContain('"stop_reason":"tool_use"');
    expect(text).toContain('"usage":{"input_tokens":10,"output_tokens":5,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"cost":0.0000015}');
    const withThinking = (await collect(encodeAnthropicStream(chunks(), state, ending(), { id: "msg_1", model: "m", thinking: true }))).join("");
    expect(withThinking).toContain('"type":"thinking_delta","thinking":"think"');
  });

  it("Anthropic: an unfinished stream gets no message_delta (the runner adds the error event)", async () => {
    const text = (await collect(encodeAnthropicStream(chunks(), new StreamState(), ending(), { id: "m", model: "m", thinking: false }))).join("");
    expect(text).not.toContain("message_delta");
  });

  it("OpenAI: chunks, then the usage chunk with cost and [DONE]", async () => {
    const state = new StreamState();
    state.finished = true;
    const out = await collect(encodeOpenAIStream(chunks(), state, ending(), { id: "gen-1", created: 1, model: "m", provider: "P" }));
    expect(out).toHaveLength(pivot.length + 1);
    expect(out.at(-1)).toContain('"cost":0.0000015');
    expect(out.at(-1)!.endsWith("data: [DONE]\n\n")).toBe(true);
  });
});

describe("parameters a model cannot honour", () => {
  const model = (over: Partial<CatalogModel["capabilities"]>): CatalogModel => ({
    ...builtinCatalog.model("openai/gpt-4o-mini")!,
    id: "x/m",
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true, ...over },
  });
  const provider = (format: ProviderInfo["format"]): ProviderInfo => ({ ...builtinCatalog.provider("openai")!, format });
  const greq = (body: Record<string, unknown>, ingress: "openai" | "anthropic" = "openai"): GatewayRequest => ({
    ingress,
    body,
    models: ["x/m"],
    stream: false,
    user: null,
    maxTokens: null,
    provider: body.provider as Record<string, unknown> | undefined,
    messages: body.messages as { content?: unknown }[],
    estimatePromptTokens: () => 1,
  });
  const plan = (m: CatalogModel, format: ProviderInfo["format"] = "openai") => ({ attempts: [{ model: m, provider: provider(format) }], excluded: [], unknown: [] });
  const image = [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://x/y.png" } }] }];

  it("400 for tools or images the model lacks, naming them", () => {
    expect(() => excludeUnsupported(plan(model({ tools: false })), greq({ messages: [], tools: [{ type: "function" }] }))).toThrowError(/cannot honour tools/);
    try {
      excludeUnsupported(plan(model({ vision: false })), greq({ messages: image }));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(GatewayError);
      expect((e as GatewayError).status).toBe(400);
      expect((e as GatewayError).code).toBe("unsupported_parameter");
    }
  });

  it("keeps the attempts that can, and drops parameters when require_parameters is false", () => {
    const p = excludeUnsupported(
      { attempts: [{ model: model({ vision: false }), provider: provider("openai") }, { model: model({}), provider: provider("openai") }], excluded: [], unknown: [] },
      greq({ messages: image }),
    );
    expect(p.attempts).toHaveLength(1);
    expect(p.excluded[0]!.reason).toBe("cannot honour image input");
    const lenient = greq({ messages: image, provider: { require_parameters: false } });
    expect(excludeUnsupported(plan(model({ vision: false })), lenient).attempts).toHaveLength(1);
    expect((dropUnsupported(lenient, model({ vision: false }), "openai").messages as any[])[0].content).toEqual([]);
  });

  it("require_parameters: true also refuses parameters the format cannot express", () => {
    const body = { messages: [{ role: "user", content: "x" }], seed: 4 };
    expect(excludeUnsupported(plan(model({}), "anthropic"), greq(body)).attempts).toHaveLength(1);
    expect(() => excludeUnsupported(plan(model({}), "anthropic"), greq({ ...body, provider: { require_parameters: true } }))).toThrowError(/seed/);
  });

  it("Anthropic server tools only go to Anthropic", () => {
    const body = { messages: [{ role: "user", content: "x" }], tools: [{ type: "web_search_20250305", name: "web_search" }] };
    expect(() => excludeUnsupported(plan(model({}), "openai"), greq(body, "anthropic"))).toThrowError(/server tools/);
    expect(excludeUnsupported(plan(model({}), "anthropic"), greq(body, "anthropic")).attempts).toHaveLength(1);
  });
});
