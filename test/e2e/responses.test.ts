import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText } from "ai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectedCost, type TokenUse } from "../support/money";
import { generationRecord, startE2E, type E2EStack, type LocalGateway } from "./gateway";

/*
 * The OpenAI Responses API through the gateway served by workerd, with the unmodified `openai` SDK
 * (`responses.create`, `responses.stream`) and the AI SDK's `openai.responses(...)` model, against an
 * OpenAI-format and an Anthropic-format provider (the fake upstream speaks chat completions and messages):
 * those answers are translated. OpenAI's own models are passed through to the fake upstream's /v1/responses.
 * Every answer's usage and cost equal the ledger's record.
 */

let stack: E2EStack;
let gateway: LocalGateway;
let openai: OpenAI;
let key: string;

const CLAUDE = "anthropic/claude-haiku-4.5";
/** OpenAI serves the Responses API itself: its requests are passed through (the fake upstream serves /v1/responses). */
const GPT = "openai/gpt-4o-mini";
/** An OpenAI-format provider without a Responses API of its own: its requests are translated to chat. */
const CHAT = "deepseek/deepseek-flash";

beforeAll(async () => {
  stack = await startE2E({ providers: ["openai", "anthropic", "deepseek"] });
  ({ gateway, key } = stack);
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });
});

afterAll(() => stack?.stop());

async function expectLedger(requestId: string | null | undefined, model: string, t: TokenUse): Promise<Record<string, any>> {
  expect(requestId).toMatch(/^gen-/);
  const g = await generationRecord(gateway, key, requestId!);
  expect(g, `no ledger record for ${requestId}`).toBeDefined();
  expect(g).toMatchObject({ id: requestId, model, status: "ok", estimated: false, prompt_tokens: t.prompt, completion_tokens: t.completion, cached_tokens: t.cached ?? 0, reasoning_tokens: t.reasoning ?? 0 });
  expect(g!.cost_exact).toBe(expectedCost(model, t));
  return g!;
}

const sentUpstream = (tag: string) => stack.sentUpstream(tag);

const weather: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "get_weather",
  description: "Weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false },
  strict: true,
};

type UsageWithCost = OpenAI.Responses.ResponseUsage & { cost: number };

describe.each([
  { upstreamFormat: "OpenAI", model: CHAT },
  { upstreamFormat: "Anthropic", model: CLAUDE },
])("openai SDK responses → $upstreamFormat-format provider", ({ upstreamFormat, model }) => {
  const t = (name: string) => `e2e-resp-${upstreamFormat}-${name}`;

  it("create: text, instructions, usage with cost equal to the ledger", async () => {
    const { data, response } = await openai.responses
      .create({ model, instructions: "Be brief.", input: `[[tag=${t("text")};reply=Bonjour.;pt=300;cached=200;ct=9]]`, metadata: { run: "e2e" } })
      .withResponse();
    expect(data.object).toBe("response");
    expect(data.status).toBe("completed");
    expect(data.output_text).toBe("Bonjour.");
    expect(data.output).toHaveLength(1);
    expect(data.output[0]).toMatchObject({ type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text: "Bonjour." }] });
    expect(data.metadata).toEqual({ run: "e2e" });
    expect(data.instructions).toBe("Be brief.");
    expect(data.usage).toMatchObject({ input_tokens: 300, input_tokens_details: { cached_tokens: 200 }, output_tokens: 9, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 309 });
    const g = await expectLedger(response.headers.get("x-request-id"), model, { prompt: 300, completion: 9, cached: 200 });
    expect((data.usage as UsageWithCost).cost).toBe(g.cost);
    const sent = sentUpstream(t("text"));
    if (upstreamFormat === "Anthropic") expect(sent.body.system).toBe("Be brief.");
    else expect((sent.body.messages as { role: string }[])[0]).toEqual({ role: "system", content: "Be brief." });
    // metadata stays with the gateway.
    expect(sent.body.metadata).toBeUndefined();
  });

  it("create: input items with parts, max_output_tokens sent as the provider's cap", async () => {
    const data = await openai.responses.create({
      model,
      max_output_tokens: 77,
      input: [
        { role: "user", content: [{ type: "input_text", text: "hello" }] },
        { role: "assistant", content: "hi" },
        { type: "message", role: "user", content: [{ type: "input_text", text: `[[tag=${t("items")};reply=Fine.]] how are you?` }] },
      ],
    });
    expect(data.output_text).toBe("Fine.");
    expect(data.max_output_tokens).toBe(77);
    const sent = sentUpstream(t("items"));
    expect(upstreamFormat === "Anthropic" ? sent.body.max_tokens : sent.body.max_completion_tokens).toBe(77);
    expect((sent.body.messages as unknown[]).length).toBe(3);
  });

  it("tools forced, then a second turn with function_call_output", async () => {
    const { data, response } = await openai.responses
      .create({
        model,
        tools: [weather],
        tool_choice: { type: "function", name: "get_weather" },
        input: `[[tag=${t("tool")};tool=get_weather;args={"city":"Lyon"};pt=80;ct=12]] weather?`,
      })
      .withResponse();
    const call = data.output.find((o) => o.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ type: "function_call", name: "get_weather", status: "completed" });
    expect(JSON.parse(call.arguments)).toEqual({ city: "Lyon" });
    expect(call.call_id).toBeTruthy();
    await expectLedger(response.headers.get("x-request-id"), model, { prompt: 80, completion: 12 });
    const sent = sentUpstream(t("tool"));
    expect(sent.body.tool_choice).toEqual(upstreamFormat === "Anthropic" ? { type: "tool", name: "get_weather" } : { type: "function", function: { name: "get_weather" } });

    const followUp = await openai.responses.create({
      model,
      tools: [weather],
      input: [
        { role: "user", content: "weather?" },
        ...data.output.map((o) => o as OpenAI.Responses.ResponseInputItem),
        { type: "function_call_output", call_id: call.call_id, output: '{"temp":21}' },
        { role: "user", content: `[[tag=${t("tool-result")};reply=21 degrees.]] thanks` },
      ],
    });
    expect(followUp.output_text).toBe("21 degrees.");
    const second = JSON.stringify(sentUpstream(t("tool-result")).body);
    expect(second).toContain(upstreamFormat === "Anthropic" ? '"type":"tool_result"' : '"role":"tool"');
    expect(second).toContain(call.call_id);
  });

  it("stream: finalResponse, events in order, usage with cost", async () => {
    const stream = openai.responses.stream({ model, input: `[[tag=${t("stream")};reply=one two three four;pt=50;ct=4]]` });
    const types: string[] = [];
    const seqs: number[] = [];
    let text = "";
    stream.on("event", (e) => {
      types.push(e.type);
      seqs.push(e.sequence_number);
    });
    stream.on("response.output_text.delta", (e) => (text += e.delta));
    const final = await stream.finalResponse();
    expect(final.status).toBe("completed");
    expect(final.output_text).toBe("one two three four");
    expect(text).toBe("one two three four");
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect(types.slice(0, 4)).toEqual(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]);
    expect(types.slice(-4)).toEqual(["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]);
    // A Response's id is the request id's: resp_<id> for gen-<id>.
    const g = await expectLedger(final.id.replace(/^resp_/, "gen-"), model, { prompt: 50, completion: 4 });
    expect(final.usage).toMatchObject({ input_tokens: 50, output_tokens: 4, total_tokens: 54 });
    expect((final.usage as UsageWithCost).cost).toBe(g.cost);
  });

  it("stream: function-call arguments assembled from their deltas", async () => {
    const stream = openai.responses.stream({
      model,
      tools: [weather],
      input: `[[tag=${t("tool-stream")};tool=get_weather;args={"city":"Kyoto"}]]`,
    });
    const deltas: string[] = [];
    let done: string | undefined;
    stream.on("response.function_call_arguments.delta", (e) => deltas.push(e.delta));
    stream.on("response.function_call_arguments.done", (e) => (done = e.arguments));
    const final = await stream.finalResponse();
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe('{"city":"Kyoto"}');
    expect(done).toBe('{"city":"Kyoto"}');
    const call = final.output.find((o) => o.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ name: "get_weather", arguments: '{"city":"Kyoto"}', status: "completed" });
  });

  it("errors are APIError with the gateway's status and message", async () => {
    const err = await openai.responses.create({ model, input: `[[tag=${t("err")};status=400;error_message=bad thing]]` }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.status).toBeGreaterThanOrEqual(400);
    const stateless = await openai.responses.create({ model, input: "hi", previous_response_id: "resp_123" }).catch((e) => e);
    expect(stateless).toBeInstanceOf(OpenAI.BadRequestError);
    expect(stateless.message).toMatch(/stateless/);
  });

  it("stream cut mid-answer: an error event the SDK raises, then response.failed", async () => {
    const stream = await openai.responses.create({ model, stream: true, input: `[[tag=${t("cut")};reply=a b c d e f;error_event_after=3]]` });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    expect(events.slice(-2).map((e) => e.type)).toEqual(["error", "response.failed"]);
    const failed = events.at(-1) as OpenAI.Responses.ResponseFailedEvent;
    expect(failed.response.status).toBe("failed");
    expect(failed.response.error?.message).toMatch(/overloaded/i);
    const text = events.filter((e) => e.type === "response.output_text.delta").map((e) => (e as OpenAI.Responses.ResponseTextDeltaEvent).delta);
    expect(text.length).toBeGreaterThan(0);
    // The SDK's stream helper rejects with the error event.
    const err = await openai.responses.stream({ model, input: `[[tag=${t("cut-2")};reply=a b c d e f;error_event_after=3]]` }).finalResponse().catch((e) => e);
    expect(err).toMatchObject({ type: "error", code: "upstream_error" });
    expect(String(err.message)).toMatch(/overloaded/i);
    // What was produced is billed, as the chat path bills a cut stream.
    const g = await generationRecord(gateway, key, failed.response.id.replace(/^resp_/, "gen-"));
    expect(g).toMatchObject({ status: "cut" });
    expect((failed.response.usage as UsageWithCost).cost).toBe(g!.cost);
  });
});

describe("reasoning through Responses (Anthropic thinking)", () => {
  it("a thinking block is a reasoning item whose signature comes back on the next turn", async () => {
    const first = await openai.responses.create({
      model: CLAUDE,
      reasoning: { effort: "low" },
      input: `[[tag=e2e-resp-think;thinking=Let me think.;reply=42.]]`,
    });
    const reasoning = first.output.find((o) => o.type === "reasoning") as OpenAI.Responses.ResponseReasoningItem;
    expect(reasoning.summary).toEqual([{ type: "summary_text", text: "Let me think." }]);
    expect(reasoning.encrypted_content).toBeTruthy();
    expect(first.output_text).toBe("42.");
    await openai.responses.create({
      model: CLAUDE,
      input: [
        { role: "user", content: "question" },
        ...first.output.map((o) => o as OpenAI.Responses.ResponseInputItem),
        { role: "user", content: "[[tag=e2e-resp-think-2;reply=ok]] again" },
      ],
    });
    const sent = JSON.stringify(sentUpstream("e2e-resp-think-2").body);
    expect(sent).toContain('"type":"thinking"');
    expect(sent).toContain("sig-upstream");

    const stream = openai.responses.stream({ model: CLAUDE, reasoning: { effort: "low" }, input: `[[tag=e2e-resp-think-s;thinking=Hmm, yes.;reply=Done.]]` });
    const final = await stream.finalResponse();
    const streamed = final.output.find((o) => o.type === "reasoning") as OpenAI.Responses.ResponseReasoningItem;
    expect(streamed.summary).toEqual([{ type: "summary_text", text: "Hmm, yes." }]);
    expect(streamed.encrypted_content).toBeTruthy();
    expect(final.output_text).toBe("Done.");
  });
});

describe.each([
  { upstreamFormat: "OpenAI", model: CHAT },
  { upstreamFormat: "Anthropic", model: CLAUDE },
])("AI SDK openai.responses → $upstreamFormat-format provider", ({ upstreamFormat, model }) => {
  const t = (name: string) => `e2e-resp-ai-${upstreamFormat}-${name}`;
  const make = () => createOpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key }).responses(model);

  it("generateText", async () => {
    const res = await generateText({ model: make(), maxRetries: 0, prompt: `[[tag=${t("gen")};reply=Hi there.;pt=20;ct=3]]` });
    expect(res.text).toBe("Hi there.");
    expect(res.finishReason).toBe("stop");
    expect(res.usage).toMatchObject({ inputTokens: 20, outputTokens: 3 });
    await expectLedger(res.response.headers?.["x-request-id"], model, { prompt: 20, completion: 3 });
  });

  it("streamText", async () => {
    const res = streamText({ model: make(), maxRetries: 0, prompt: `[[tag=${t("stream")};reply=one two three;pt=30;ct=3]]`, onError: () => {} });
    let text = "";
    for await (const d of res.textStream) text += d;
    expect(text).toBe("one two three");
    expect(await res.finishReason).toBe("stop");
    expect(await res.usage).toMatchObject({ inputTokens: 30, outputTokens: 3 });
  });
});

describe("openai SDK responses → OpenAI, passed through to its own Responses API", () => {
  const t = (name: string) => `e2e-resp-native-${name}`;

  it("create: the body as sent (model and routing fields aside), usage with cost equal to the ledger", async () => {
    const { data, response } = await openai.responses
      .create({ model: GPT, instructions: "Be brief.", input: `[[tag=${t("create")};reply=Bonjour.;pt=300;cached=200;ct=9;reasoning=4]]`, max_output_tokens: 64, store: false })
      .withResponse();
    expect(data).toMatchObject({ object: "response", status: "completed", model: GPT, id: `resp_up_${t("create")}` });
    expect(data.output_text).toBe("Bonjour.");
    expect(data.usage).toMatchObject({ input_tokens: 300, input_tokens_details: { cached_tokens: 200 }, output_tokens: 9, output_tokens_details: { reasoning_tokens: 4 } });
    const g = await expectLedger(response.headers.get("x-request-id"), GPT, { prompt: 300, completion: 9, cached: 200, reasoning: 4 });
    expect((data.usage as UsageWithCost).cost).toBe(g.cost);
    const sent = sentUpstream(t("create"));
    expect(sent.path).toBe("/v1/responses");
    expect(sent.body).toEqual({ model: "gpt-4o-mini", instructions: "Be brief.", input: `[[tag=${t("create")};reply=Bonjour.;pt=300;cached=200;ct=9;reasoning=4]]`, max_output_tokens: 64, store: false });
  });

  it("stream().finalResponse(): the provider's events, response.completed with cost", async () => {
    // The Response's id is the provider's: the request id is read from the answer's header.
    let requestId: string | null = null;
    const recording = new OpenAI({
      baseURL: `${gateway.url}/v1`,
      apiKey: key,
      maxRetries: 0,
      fetch: async (url, init) => {
        const r = await fetch(url, init);
        requestId = r.headers.get("x-request-id");
        return r;
      },
    });
    const stream = recording.responses.stream({ model: GPT, input: `[[tag=${t("stream")};reply=one two three four;pt=50;ct=4]]` });
    let text = "";
    stream.on("response.output_text.delta", (e) => (text += e.delta));
    const final = await stream.finalResponse();
    expect(final.status).toBe("completed");
    expect(final.output_text).toBe("one two three four");
    expect(text).toBe("one two three four");
    expect(final.model).toBe(GPT);
    const sent = sentUpstream(t("stream"));
    expect(sent.path).toBe("/v1/responses");
    const g = await expectLedger(requestId, GPT, { prompt: 50, completion: 4 });
    expect(final.usage).toMatchObject({ input_tokens: 50, output_tokens: 4 });
    expect((final.usage as UsageWithCost).cost).toBe(g.cost);
  });
});
