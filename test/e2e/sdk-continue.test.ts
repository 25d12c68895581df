import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generationRecord, startE2E, type E2EStack, type LocalGateway } from "./gateway";

/*
 * A cut answer continued across formats (routing.continue_on_cut), as the official SDKs' stream helpers see
 * it: `finalChatCompletion()` and `finalMessage()` return the whole answer, continued, as one message.
 */

let stack: E2EStack;
let gateway: LocalGateway;
let openai: OpenAI;
let anthropic: Anthropic;
let key: string;

const GPT = "openai/gpt-4o-mini";
const CLAUDE = "anthropic/claude-haiku-4.5";
const DEEPSEEK = "deepseek/deepseek-flash";

beforeAll(async () => {
  stack = await startE2E({ providers: ["openai", "anthropic", "deepseek"], policy: { routing: { continue_on_cut: true } } });
  ({ gateway, key } = stack);
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gateway.url, apiKey: key, maxRetries: 0 });
});

afterAll(() => stack?.stop());

describe("stream helpers see one continued answer", () => {
  it("openai SDK finalChatCompletion: an OpenAI-format primary cut, continued by Anthropic", async () => {
    const stream = openai.chat.completions.stream({
      model: GPT,
      models: [GPT, CLAUDE],
      messages: [{ role: "user", content: "[[tag=e2e-cont-oa;reply=one two three four five;cut_after@gpt-4o-mini=3;pt=30;ct=4]]" }],
    } as unknown as Parameters<typeof openai.chat.completions.stream>[0]);
    const done = await stream.finalChatCompletion();
    expect(done.choices[0]!.message.content).toBe("one two three four five");
    expect(done.choices[0]!.finish_reason).toBe("stop");
    expect(done.model).toBe(CLAUDE);
    const id = done.id;
    const g = await generationRecord(gateway, key, id);
    expect(g).toMatchObject({ status: "ok", model: CLAUDE });
    expect(g!.segments.map((s: { model: string }) => s.model)).toEqual([GPT, CLAUDE]);
  });

  it("Anthropic SDK finalMessage: an Anthropic primary cut, continued by DeepSeek (prefix)", async () => {
    const stream = anthropic.messages.stream({
      model: CLAUDE,
      models: [DEEPSEEK],
      max_tokens: 100,
      messages: [{ role: "user", content: "[[tag=e2e-cont-an;reply=one two three four five;cut_after@claude-haiku-4-5-20251001=4;pt=30;ct=4]]" }],
    } as Anthropic.MessageStreamParams);
    const message = await stream.finalMessage();
    expect(message.content).toEqual([{ type: "text", text: "one two three four five", citations: null }].map((b) => expect.objectContaining({ type: b.type, text: b.text })));
    expect(message.stop_reason).toBe("end_turn");
    expect(message.usage.output_tokens).toBeGreaterThan(0);
  });
});
