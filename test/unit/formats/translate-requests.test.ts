import { describe, expect, it } from "vitest";
import { anthropicToOpenAIRequest, openAIToAnthropicMessage } from "../../../src/formats/translate-anthropic-openai";
import { anthropicMessageToOpenAIChoice, openAIToAnthropicRequest } from "../../../src/formats/translate-openai-anthropic";
import { geminiToOpenAIChoice, openAIToGeminiRequest, SKIP_THOUGHT_SIGNATURE } from "../../../src/formats/translate-openai-gemini";
import { anthropicUsageFromTokens, tokensFromAnthropicUsage, tokensFromGeminiUsage } from "../../../src/formats/usage-formats";

const target = { upstreamModel: "claude-x", maxOutput: 8192, stream: false };

describe("OpenAI → Anthropic request", () => {
  it("defaults max_tokens to the model's max output and gathers system and developer messages", () => {
    const out = openAIToAnthropicRequest({ messages: [{ role: "system", content: "a" }, { role: "developer", content: "b" }, { role: "user", content: "hi" }] }, target);
    expect(out).toEqual({ model: "claude-x", system: "a\n\nb", messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }], max_tokens: 8192 });
  });

  it("keeps cache_control, so the system prompt becomes blocks", () => {
    const out = openAIToAnthropicRequest(
      { messages: [{ role: "system", content: [{ type: "text", text: "long", cache_control: { type: "ephemeral" } }] }, { role: "user", content: "hi" }] },
      target,
    );
    expect(out.system).toEqual([{ type: "text", text: "long", cache_control: { type: "ephemeral" } }]);
  });

  it("JSON object mode becomes an instruction; parallel_tool_calls false disables parallel tool use", () => {
    const out = openAIToAnthropicRequest(
      {
        messages: [{ role: "user", content: "hi" }],
        response_format: { type: "json_object" },
        tools: [{ type: "function", function: { name: "f" } }],
        parallel_tool_calls: false,
      },
      target,
    );
    expect(out.system).toContain("JSON object");
    expect(out.tools).toEqual([{ name: "f", input_schema: { type: "object", properties: {} } }]);
    expect(out.tool_choice).toEqual({ type: "auto", disable_parallel_tool_use: true });
  });

  it("drops thinking when a tool is forced (Anthropic refuses both) and keeps sampling then", () => {
    const out = openAIToAnthropicRequest(
      { messages: [{ role: "user", content: "hi" }], reasoning_effort: "high", temperature: 0.4, tools: [{ type: "function", function: { name: "f" } }], tool_choice: { type: "function", function: { name: "f" } } },
      target,
    );
    expect(out.thinking).toBeUndefined();
    expect(out.tool_choice).toEqual({ type: "tool", name: "f" });
    expect(out.temperature).toBe(0.4);
  });

  it("raises max_tokens above the thinking budget when needed", () => {
    const out = openAIToAnthropicRequest({ messages: [{ role: "user", content: "hi" }], max_tokens: 500, reasoning: { max_tokens: 2000 } }, target);
    expect(out.thinking).toEqual({ type: "enabled", budget_tokens: 2000 });
    expect(out.max_tokens).toBe(2500);
  });

  it("turns signed reasoning_details back into thinking blocks first in the assistant turn", () => {
    const out = openAIToAnthropicRequest(
      {
        messages: [
          { role: "user", content: "hi" },
          { role: "assistant", content: "ok", reasoning_details: [{ type: "reasoning.text", text: "t", signature: "s" }, { type: "reasoning.text", text: "unsigned" }] },
          { role: "user", content: "more" },
        ],
      },
      target,
    );
    expect((out.messages as any[])[1].content).toEqual([{ type: "thinking", thinking: "t", signature: "s" }, { type: "text", text: "ok" }]);
  });

  it("sends a PDF file part as a document block and a system-only request as a user turn", () => {
    const pdf = openAIToAnthropicRequest({ messages: [{ role: "user", content: [{ type: "file", file: { file_data: "data:application/pdf;base64,JVBE" } }] }] }, target);
    expect((pdf.messages as any[])[0].content[0]).toEqual({ type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBE" } });
    const sys = openAIToAnthropicRequest({ messages: [{ role: "system", content: "only" }] }, target);
    expect(sys.system).toBeUndefined();
    expect(sys.messages).toEqual([{ role: "user", content: [{ type: "text", text: "only" }] }]);
  });
});

describe("Anthropic answer → OpenAI choice", () => {
  it("maps content, thinking, tool use and stop reasons", () => {
    const c = anthropicMessageToOpenAIChoice({
      content: [
        { type: "thinking", thinking: "hm", signature: "sig" },
        { type: "redacted_thinking", data: "enc" },
        { type: "text", text: "a" },
        { type: "tool_use", id: "t1", name: "f", input: { x: 1 } },
      ],
      stop_reason: "tool_use",
    }) as any;
    expect(c.finish_reason).toBe("tool_calls");
    expect(c.message.content).toBe("a");
    expect(c.message.reasoning).toBe("hm");
    expect(c.message.reasoning_details.map((d: any) => d.type)).toEqual(["reasoning.text", "reasoning.encrypted"]);
    expect(c.message.tool_calls).toEqual([{ id: "t1", type: "function", function: { name: "f", arguments: '{"x":1}' } }]);
    for (const [reason, finish] of [["max_tokens", "length"], ["refusal", "content_filter"], ["stop_sequence", "stop"], ["end_turn", "stop"]]) {
      expect((anthropicMessageToOpenAIChoice({ content: [], stop_reason: reason }) as any).finish_reason).toBe(finish);
    }
  });
});

describe("Anthropic → OpenAI request", () => {
  const oa = { upstreamModel: "gpt-x", maxTokensField: "max_tokens" as const, reasoning: true, stream: true };

  it("streams with usage, maps thinking budget to effort, leaves server tools and top_k out", () => {
    const out = anthropicToOpenAIRequest(
      {
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 64,
        top_k: 5,
        thinking: { type: "enabled", budget_tokens: 20000 },
        tools: [{ name: "f", input_schema: { type: "object" } }, { name: "web_search", type: "web_search_20250305" }],
      },
      oa,
    );
    expect(out).toMatchObject({ max_tokens: 64, stream: true, stream_options: { include_usage: true }, reasoning_effort: "high" });
    expect(out.top_k).toBeUndefined();
    expect(out.tools).toHaveLength(1);
  });

  it("puts tool results before the rest of the user turn and marks errors", () => {
    const out = anthropicToOpenAIRequest(
      { messages: [{ role: "user", content: [{ type: "text", text: "after" }, { type: "tool_result", tool_use_id: "t", content: "boom", is_error: true }] }] },
      { ...oa, stream: false },
    );
    expect(out.messages).toEqual([{ role: "tool", tool_call_id: "t", content: "Error: boom" }, { role: "user", content: "after" }]);
  });
});

describe("OpenAI answer → Anthropic message", () => {
  it("builds content blocks and the Anthropic usage shape (input excludes the cache)", () => {
    const m = openAIToAnthropicMessage(
      { choices: [{ message: { role: "assistant", content: "a", reasoning: "r", tool_calls: [{ id: "c", function: { name: "f", arguments: "not json" } }] }, finish_reason: "tool_calls" }] },
      { id: "msg_1", model: "m", tokens: { prompt_tokens: 100, completion_tokens: 10, cached_tokens: 60, cache_write_tokens: 5, reasoning_tokens: 4 }, thinking: false },
    ) as any;
    expect(m.content).toEqual([{ type: "text", text: "a" }, { type: "tool_use", id: "c", name: "f", input: {} }]);
    expect(m.stop_reason).toBe("tool_use");
    expect(m.usage).toEqual({ input_tokens: 35, output_tokens: 10, cache_read_input_tokens: 60, cache_creation_input_tokens: 5, output_tokens_details: { thinking_tokens: 4 } });
  });
});

describe("OpenAI → Gemini request and answer", () => {
  it("guesses a URL image's type and sends thinking and penalties", () => {
    const out = openAIToGeminiRequest(
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://x.test/a.webp?s=1" } }] }], reasoning_effort: "low", presence_penalty: 0.5, seed: 3 },
      { maxOutput: 10000 },
    ) as any;
    expect(out.contents[0].parts[0]).toEqual({ fileData: { mimeType: "image/webp", fileUri: "https://x.test/a.webp?s=1" } });
    expect(out.generationConfig).toEqual({ presencePenalty: 0.5, seed: 3, thinkingConfig: { thinkingBudget: 2000, includeThoughts: true } });
  });

  it("signs only the first function call of a model turn", () => {
    const out = openAIToGeminiRequest(
      {
        messages: [
          { role: "user", content: "q" },
          { role: "assistant", content: null, tool_calls: [{ id: "a", function: { name: "f", arguments: "{}" } }, { id: "b", function: { name: "g", arguments: "{}" } }] },
          { role: "tool", tool_call_id: "a", content: "plain text" },
          { role: "tool", tool_call_id: "b", content: "[1,2]" },
        ],
      },
      { maxOutput: 100 },
    ) as any;
    expect(out.contents[1].parts.map((p: any) => p.thoughtSignature)).toEqual([SKIP_THOUGHT_SIGNATURE, undefined]);
    expect(out.contents[2].parts).toEqual([
      { functionResponse: { name: "f", response: { result: "plain text" } } },
      { functionResponse: { name: "g", response: { result: [1, 2] } } },
    ]);
  });

  it("maps finish reasons, blocked prompts and thought parts", () => {
    const c = geminiToOpenAIChoice({ candidates: [{ content: { parts: [{ text: "t", thought: true }, { text: "a" }] }, finishReason: "MAX_TOKENS" }] }) as any;
    expect(c).toMatchObject({ finish_reason: "length", message: { content: "a", reasoning: "t" } });
    expect((geminiToOpenAIChoice({ candidates: [{ finishReason: "SAFETY" }] }) as any).finish_reason).toBe("content_filter");
    expect((geminiToOpenAIChoice({ promptFeedback: { blockReason: "OTHER" } }) as any).finish_reason).toBe("content_filter");
  });
});

describe("usage normalisation", () => {
  it("Anthropic: prompt = input + cache read + cache write; thinking tokens are reasoning", () => {
    expect(tokensFromAnthropicUsage({ input_tokens: 5, cache_read_input_tokens: 100, cache_creation_input_tokens: 20, output_tokens: 9, output_tokens_details: { thinking_tokens: 4 } })).toEqual({
      prompt_tokens: 125,
      completion_tokens: 9,
      cached_tokens: 100,
      cache_write_tokens: 20,
      reasoning_tokens: 4,
    });
    const t = { prompt_tokens: 125, completion_tokens: 9, cached_tokens: 100, cache_write_tokens: 20, reasoning_tokens: 4 };
    expect(tokensFromAnthropicUsage(anthropicUsageFromTokens(t))).toEqual(t);
  });

  it("Gemini: completion = candidates + thoughts; cached content is inside the prompt count", () => {
    expect(tokensFromGeminiUsage({ promptTokenCount: 100, cachedContentTokenCount: 80, candidatesTokenCount: 7, thoughtsTokenCount: 30 })).toEqual({
      prompt_tokens: 100,
      completion_tokens: 37,
      cached_tokens: 80,
      cache_write_tokens: 0,
      reasoning_tokens: 30,
    });
    expect(tokensFromGeminiUsage(undefined)).toBeNull();
  });
});
