import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenRouter } from "@openrouter/ai-sdk-provider";
import { HTTPClient, OpenRouter } from "@openrouter/sdk";
import type { ChatFunctionTool, ChatResult, ChatStreamChunk, ChatUsage } from "@openrouter/sdk/models";
import { generateText, streamText, tool, type LanguageModel, type LanguageModelUsage, type ModelMessage, type ProviderMetadata } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { expectedCost, type TokenUse } from "../support/money";
import { generationRecord, startE2E, type E2EStack, type LocalGateway } from "./gateway";

/*
 * More official clients, unmodified but for base URL and key, through the gateway served by workerd:
 * OpenRouter's own SDK (@openrouter/sdk), and the Vercel AI SDK (`ai`) with its OpenAI (chat model),
 * Anthropic and OpenRouter providers, each against an OpenAI-format and an Anthropic-format upstream.
 * What the SDK returns is checked against what the fake provider reported, and every request's ledger
 * record against tokens × catalog price.
 */

let stack: E2EStack;
let gateway: LocalGateway;
let key: string;
let openrouter: OpenRouter;
/** The x-request-id of the last response @openrouter/sdk received. */
let lastRequestId: string | null = null;
/** Every request id a client here was answered with: each must have its own ledger record. */
const requestIds = new Set<string>();

const CLAUDE = "anthropic/claude-haiku-4.5";
const GPT = "openai/gpt-4o-mini";

beforeAll(async () => {
  stack = await startE2E({ providers: ["openai", "anthropic"] });
  ({ gateway, key } = stack);
  const httpClient = new HTTPClient().addHook("response", (res) => {
    lastRequestId = res.headers.get("x-request-id");
  });
  openrouter = new OpenRouter({ serverURL: `${gateway.url}/v1`, apiKey: key, httpClient, retryConfig: { strategy: "none" } });
});

afterAll(() => stack?.stop());


/** The ledger's record of a request: there, answered by `model`, tokens × catalog price exactly. */
async function expectLedger(requestId: string | null | undefined, model: string, t: TokenUse): Promise<Record<string, any>> {
  expect(requestId).toMatch(/^gen-/);
  requestIds.add(requestId!);
  const g = await generationRecord(gateway, key, requestId!);
  expect(g, `no ledger record for ${requestId}`).toBeDefined();
  expect(g).toMatchObject({ id: requestId, model, status: "ok", estimated: false, prompt_tokens: t.prompt, completion_tokens: t.completion, cached_tokens: t.cached ?? 0 });
  expect(g!.cost_exact).toBe(expectedCost(model, t));
  return g!;
}

const sentUpstream = (tag: string) => stack.sentUpstream(tag);

const MODELS = [
  { upstreamFormat: "OpenAI", model: GPT, toolResult: '"role":"tool"' },
  { upstreamFormat: "Anthropic", model: CLAUDE, toolResult: '"type":"tool_result"' },
];

// --- @openrouter/sdk ---

const orWeather: ChatFunctionTool = {
  type: "function",
  function: { name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
};

describe.each(MODELS)("@openrouter/sdk → $upstreamFormat-format provider", ({ upstreamFormat, model, toolResult }) => {
  const t = (name: string) => `e2e-or-${upstreamFormat}-${name}`;

  it("chat: text, finish reason, usage and cost", async () => {
    const res = (await openrouter.chat.send({
      chatRequest: { model, messages: [{ role: "system", content: "Be brief." }, { role: "user", content: `[[tag=${t("chat")};reply=Bonjour.;pt=300;cached=200;ct=9]]` }] },
    })) as ChatResult;
    expect(res.object).toBe("chat.completion");
    expect(res.model).toBe(model);
    expect(res.choices[0]!.message.content).toBe("Bonjour.");
    expect(res.choices[0]!.finishReason).toBe("stop");
    expect(res.usage).toMatchObject({ promptTokens: 300, completionTokens: 9, totalTokens: 309, promptTokensDetails: { cachedTokens: 200 } });
    const g = await expectLedger(lastRequestId, model, { prompt: 300, completion: 9, cached: 200 });
    expect(res.usage!.cost).toBe(g.cost);
    expect(sentUpstream(t("chat")).path).toBe(upstreamFormat === "OpenAI" ? "/v1/chat/completions" : "/v1/messages");
  });

  it("stream: text deltas, finish reason, usage and cost in the last chunk", async () => {
    const stream = await openrouter.chat.send({
      chatRequest: { model, stream: true, messages: [{ role: "user", content: `[[tag=${t("stream")};reply=one two three four;pt=50;ct=4]]` }] },
    });
    const id = lastRequestId;
    let text = "";
    let finish: string | null = null;
    let usage: ChatUsage | undefined;
    for await (const chunk of stream as AsyncIterable<ChatStreamChunk>) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finishReason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("one two three four");
    expect(finish).toBe("stop");
    expect(usage).toMatchObject({ promptTokens: 50, completionTokens: 4, totalTokens: 54 });
    const g = await expectLedger(id, model, { prompt: 50, completion: 4 });
    expect(usage!.cost).toBe(g.cost);
  });

  it("tools: a call, then its result sent back", async () => {
    const first = (await openrouter.chat.send({
      chatRequest: { model, tools: [orWeather], messages: [{ role: "user", content: `[[tag=${t("tool")};tool=get_weather;args={"city":"Lyon"};pt=80;ct=12]] weather?` }] },
    })) as ChatResult;
    expect(first.choices[0]!.finishReason).toBe("tool_calls");
    const message = first.choices[0]!.message;
    const call = message.toolCalls![0]!;
    expect(call.type).toBe("function");
    expect(call.function.name).toBe("get_weather");
    expect(JSON.parse(call.function.arguments)).toEqual({ city: "Lyon" });
    await expectLedger(lastRequestId, model, { prompt: 80, completion: 12 });

    const followUp = (await openrouter.chat.send({
      chatRequest: {
        model,
        tools: [orWeather],
        messages: [
          { role: "user", content: "weather?" },
          message,
          { role: "tool", toolCallId: call.id, content: '{"temp":21}' },
          { role: "user", content: `[[tag=${t("tool-result")};reply=21 degrees.;pt=120;ct=5]] thanks` },
        ],
      },
    })) as ChatResult;
    expect(followUp.choices[0]!.message.content).toBe("21 degrees.");
    expect(followUp.choices[0]!.finishReason).toBe("stop");
    await expectLedger(lastRequestId, model, { prompt: 120, completion: 5 });
    const sent = JSON.stringify(sentUpstream(t("tool-result")).body);
    expect(sent).toContain(toolResult);
    expect(sent).toContain(call.id);
  });

  it("tools, streamed: the call's arguments assembled from the deltas", async () => {
    const stream = await openrouter.chat.send({
      chatRequest: { model, stream: true, tools: [orWeather], messages: [{ role: "user", content: `[[tag=${t("tool-stream")};tool=get_weather;args={"city":"Kyoto"};pt=70;ct=14]]` }] },
    });
    const id = lastRequestId;
    const calls: Record<number, { id?: string; name?: string; args: string; deltas: number }> = {};
    let finish: string | null = null;
    let usage: ChatUsage | undefined;
    for await (const chunk of stream as AsyncIterable<ChatStreamChunk>) {
      for (const tc of chunk.choices[0]?.delta.toolCalls ?? []) {
        const c = (calls[tc.index] ??= { args: "", deltas: 0 });
        c.id ??= tc.id;
        c.name ??= tc.function?.name;
        c.args += tc.function?.arguments ?? "";
        c.deltas++;
      }
      finish = chunk.choices[0]?.finishReason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(finish).toBe("tool_calls");
    expect(Object.keys(calls)).toEqual(["0"]);
    expect(calls[0]!.name).toBe("get_weather");
    expect(calls[0]!.id).toBeTruthy();
    expect(calls[0]!.deltas).toBeGreaterThan(1);
    expect(JSON.parse(calls[0]!.args)).toEqual({ city: "Kyoto" });
    expect(usage).toMatchObject({ promptTokens: 70, completionTokens: 14 });
    const g = await expectLedger(id, model, { prompt: 70, completion: 14 });
    expect(usage!.cost).toBe(g.cost);
  });
});

// --- the Vercel AI SDK ---

const weather = tool({ description: "Weather for a city", inputSchema: z.object({ city: z.string() }) });

interface AiClient {
  client: string;
  make: (id: string) => LanguageModel;
  /** The request's cost in dollars as the provider package hands it on (@ai-sdk/openai keeps only token counts). */
  cost?: (usage: LanguageModelUsage, meta: ProviderMetadata | undefined) => unknown;
}

const aiClients: AiClient[] = [
  { client: "@ai-sdk/openai (chat)", make: (id) => createOpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key }).chat(id) },
  { client: "@ai-sdk/anthropic", make: (id) => createAnthropic({ baseURL: `${gateway.url}/v1`, apiKey: key })(id), cost: (usage) => usage.raw?.cost },
  {
    client: "@openrouter/ai-sdk-provider",
    make: (id) => createOpenRouter({ baseURL: `${gateway.url}/v1`, apiKey: key, compatibility: "strict" }).chat(id, { usage: { include: true } }),
    cost: (_, meta) => (meta?.openrouter?.usage as { cost?: number } | undefined)?.cost,
  },
];

const cases = aiClients.flatMap((c) => MODELS.map((m) => ({ ...c, ...m })));

describe.each(cases)("ai SDK, $client → $upstreamFormat-format provider", ({ client, make, cost, model: modelId, upstreamFormat, toolResult }) => {
  const t = (name: string) => `e2e-ai-${client.replace(/\W+/g, "")}-${upstreamFormat}-${name}`;

  it("generateText: text, finish reason, usage", async () => {
    const res = await generateText({
      model: make(modelId),
      maxRetries: 0,
      system: "Be brief.",
      prompt: `[[tag=${t("gen")};reply=Bonjour.;pt=300;cached=200;ct=9]]`,
    });
    expect(res.text).toBe("Bonjour.");
    expect(res.finishReason).toBe("stop");
    expect(res.usage).toMatchObject({ inputTokens: 300, outputTokens: 9, totalTokens: 309, inputTokenDetails: { cacheReadTokens: 200, noCacheTokens: 100 } });
    const g = await expectLedger(res.response.headers?.["x-request-id"], modelId, { prompt: 300, completion: 9, cached: 200 });
    if (cost) expect(cost(res.usage, res.providerMetadata)).toBe(g.cost);
  });

  it("streamText: text deltas, finish reason, usage", async () => {
    const res = streamText({ model: make(modelId), maxRetries: 0, prompt: `[[tag=${t("stream")};reply=one two three four;pt=50;ct=4]]`, onError: () => {} });
    const deltas: string[] = [];
    for await (const d of res.textStream) deltas.push(d);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe("one two three four");
    expect(await res.finishReason).toBe("stop");
    expect(await res.usage).toMatchObject({ inputTokens: 50, outputTokens: 4, totalTokens: 54 });
    const g = await expectLedger((await res.response).headers?.["x-request-id"], modelId, { prompt: 50, completion: 4 });
    if (cost) expect(cost(await res.usage, await res.providerMetadata)).toBe(g.cost);
  });

  it("generateText with a tool: a call, then its result sent back", async () => {
    const messages: ModelMessage[] = [{ role: "user", content: `[[tag=${t("tool")};tool=get_weather;args={"city":"Lyon"};pt=80;ct=12]] weather?` }];
    const first = await generateText({ model: make(modelId), maxRetries: 0, tools: { get_weather: weather }, messages });
    expect(first.finishReason).toBe("tool-calls");
    expect(first.toolCalls).toHaveLength(1);
    const call = first.toolCalls[0]!;
    expect(call).toMatchObject({ toolName: "get_weather", input: { city: "Lyon" } });
    expect(first.usage).toMatchObject({ inputTokens: 80, outputTokens: 12 });
    await expectLedger(first.response.headers?.["x-request-id"], modelId, { prompt: 80, completion: 12 });

    const followUp = await generateText({
      model: make(modelId),
      maxRetries: 0,
      tools: { get_weather: weather },
      messages: [
        { role: "user", content: "weather?" },
        ...first.response.messages,
        { role: "tool", content: [{ type: "tool-result", toolCallId: call.toolCallId, toolName: "get_weather", output: { type: "json", value: { temp: 21 } } }] },
        { role: "user", content: `[[tag=${t("tool-result")};reply=21 degrees.;pt=120;ct=5]] thanks` },
      ],
    });
    expect(followUp.text).toBe("21 degrees.");
    expect(followUp.finishReason).toBe("stop");
    await expectLedger(followUp.response.headers?.["x-request-id"], modelId, { prompt: 120, completion: 5 });
    const sent = JSON.stringify(sentUpstream(t("tool-result")).body);
    expect(sent).toContain(toolResult);
    expect(sent).toContain(call.toolCallId);
    expect(sent).toContain("temp");
  });

  it("streamText with a tool: the call's input streamed, then assembled", async () => {
    const res = streamText({
      model: make(modelId),
      maxRetries: 0,
      tools: { get_weather: weather },
      prompt: `[[tag=${t("tool-stream")};tool=get_weather;args={"city":"Kyoto"};reply=Checking.;pt=70;ct=14]]`,
      onError: () => {},
    });
    let text = "";
    const inputDeltas: string[] = [];
    const calls: { toolName: string; input: unknown }[] = [];
    for await (const part of res.fullStream) {
      if (part.type === "error") throw part.error;
      if (part.type === "text-delta") text += part.text;
      if (part.type === "tool-input-delta") inputDeltas.push(part.delta);
      if (part.type === "tool-call") calls.push({ toolName: part.toolName, input: part.input });
    }
    expect(text).toBe("Checking.");
    expect(inputDeltas.length).toBeGreaterThan(1);
    expect(JSON.parse(inputDeltas.join(""))).toEqual({ city: "Kyoto" });
    expect(calls).toEqual([{ toolName: "get_weather", input: { city: "Kyoto" } }]);
    expect(await res.finishReason).toBe("tool-calls");
    expect(await res.usage).toMatchObject({ inputTokens: 70, outputTokens: 14 });
    await expectLedger((await res.response).headers?.["x-request-id"], modelId, { prompt: 70, completion: 14 });
  });
});

describe("the ledger", () => {
  it("has one record per request: every request the clients above made, and no other", async () => {
    // Every request above reached the fake provider exactly once (no retries, no fallbacks).
    expect(requestIds.size).toBe(stack.upstream.log.length);
    let totals: Record<string, number> = {};
    for (const until = Date.now() + 5_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
      const r = await fetch(`${gateway.url}/v1/usage`, { headers: { authorization: `Bearer ${key}` } });
      expect(r.status).toBe(200);
      totals = ((await r.json()) as { totals: Record<string, number> }).totals;
      if (totals.requests === requestIds.size) break;
    }
    expect(totals.requests).toBe(requestIds.size);
  });
});
