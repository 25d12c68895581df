import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtinCatalog, type ModelPricing } from "../../src/catalog";
import { costAt, dollars, expectedCost, picodollars, type TokenUse } from "../support/money";
import { generationRecord, startE2E, type E2EStack, type LocalGateway } from "./gateway";

/*
 * The official SDKs, unmodified but for base URL and key, through the gateway served by workerd, each
 * format to each other format and to itself; the fake provider speaks each provider's wire format. Every
 * request's ledger record is checked against tokens × catalog price, in BigInt over the price strings.
 */

let stack: E2EStack;
let gateway: LocalGateway;
let openai: OpenAI;
let anthropic: Anthropic;
let key: string;

const CLAUDE = "anthropic/claude-haiku-4.5";
const GEMINI = "gemini/gemini-2.5-flash-lite";
const GPT = "openai/gpt-4o-mini";
const ACME_PRICING: ModelPricing = { prompt: "0.0000006", completion: "0.0000008", input_cache_read: "0.00000015" };

beforeAll(async () => {
  stack = await startE2E({
    providers: ["openai", "anthropic", "gemini", "groq", "acme"],
    config: (origin) => [
      "providers:",
      "  - id: acme",
      `    base_url: ${origin}/v1`,
      "    api_key_secret: ACME_API_KEY",
      "    data_collection: deny",
      "models:",
      "  - id: acme/llama-70b",
      "    upstream_id: llama-70b",
      "    context_length: 131072",
      `    pricing: { prompt: "${ACME_PRICING.prompt}", completion: "${ACME_PRICING.completion}", input_cache_read: "${ACME_PRICING.input_cache_read}" }`,
    ],
  });
  expect(stack.pushed).toEqual({ version: 1, providers: 1, models: 1 });
  ({ gateway, key } = stack);
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gateway.url, apiKey: key, maxRetries: 0 });
});

afterAll(() => stack?.stop());

/** The ledger's record of a request equals tokens × catalog price, exactly. */
async function expectLedger(requestId: string | null, model: string, t: TokenUse, pricing = builtinCatalog.model(model)!.pricing) {
  expect(requestId).toMatch(/^gen-/);
  const g = await generationRecord(gateway, key, requestId!);
  expect(g, `no ledger record for ${requestId}`).toBeDefined();
  expect(g).toMatchObject({
    model,
    status: "ok",
    estimated: false,
    prompt_tokens: t.prompt,
    completion_tokens: t.completion,
    cached_tokens: t.cached ?? 0,
    cache_write_tokens: t.cacheWrite ?? 0,
    reasoning_tokens: t.reasoning ?? 0,
  });
  expect(g!.cost_exact).toBe(costAt(pricing, t));
  return g!;
}

const weatherTool: OpenAI.ChatCompletionTool = {
  type: "function",
  function: { name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
};

describe.each([
  { upstreamFormat: "Anthropic", model: CLAUDE },
  { upstreamFormat: "Gemini", model: GEMINI },
])("openai SDK → $upstreamFormat-format provider", ({ upstreamFormat, model }) => {
  const t = (name: string) => `e2e-oa-${upstreamFormat}-${name}`;

  it("chat", async () => {
    const { data, response } = await openai.chat.completions
      .create({ model, messages: [{ role: "system", content: "Be brief." }, { role: "user", content: `[[tag=${t("chat")};reply=Bonjour.;pt=300;cached=200;ct=9]]` }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("Bonjour.");
    expect(data.choices[0]!.finish_reason).toBe("stop");
    expect(data.usage).toMatchObject({ prompt_tokens: 300, completion_tokens: 9, prompt_tokens_details: { cached_tokens: 200 } });
    const g = await expectLedger(response.headers.get("x-request-id"), model, { prompt: 300, completion: 9, cached: 200 });
    expect((data.usage as unknown as { cost: number }).cost).toBe(g.cost);
  });

  it("stream", async () => {
    const { data: stream, response } = await openai.chat.completions
      .create({ model, stream: true, messages: [{ role: "user", content: `[[tag=${t("stream")};reply=one two three four;pt=50;ct=4]]` }] })
      .withResponse();
    let text = "";
    let usage: (OpenAI.CompletionUsage & { cost?: number }) | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("one two three four");
    expect(finish).toBe("stop");
    expect(usage).toMatchObject({ prompt_tokens: 50, completion_tokens: 4 });
    const g = await expectLedger(response.headers.get("x-request-id"), model, { prompt: 50, completion: 4 });
    expect(usage!.cost).toBe(g.cost);
  });

  it("tools: a call, then its result sent back", async () => {
    const { data, response } = await openai.chat.completions
      .create({ model, tools: [weatherTool], messages: [{ role: "user", content: `[[tag=${t("tool")};tool=get_weather;args={"city":"Lyon"};pt=80;ct=12]] weather?` }] })
      .withResponse();
    const call = data.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(data.choices[0]!.finish_reason).toBe("tool_calls");
    expect(call.function.name).toBe("get_weather");
    expect(JSON.parse(call.function.arguments)).toEqual({ city: "Lyon" });
    await expectLedger(response.headers.get("x-request-id"), model, { prompt: 80, completion: 12 });

    const followUp = await openai.chat.completions.create({
      model,
      tools: [weatherTool],
      messages: [
        { role: "user", content: "weather?" },
        data.choices[0]!.message,
        { role: "tool", tool_call_id: call.id, content: '{"temp":21}' },
        { role: "user", content: `[[tag=${t("tool-result")};reply=21 degrees.]] thanks` },
      ],
    });
    expect(followUp.choices[0]!.message.content).toBe("21 degrees.");
    const sent = stack.upstream.log.find((e) => JSON.stringify(e.body).includes(`tag=${t("tool-result")}`))!;
    expect(JSON.stringify(sent.body)).toContain(upstreamFormat === "Anthropic" ? '"type":"tool_result"' : '"functionResponse"');
  });

  it("tools, streamed: arguments assembled from the deltas", async () => {
    const stream = await openai.chat.completions.create({
      model,
      stream: true,
      tools: [weatherTool],
      messages: [{ role: "user", content: `[[tag=${t("tool-stream")};tool=get_weather;args={"city":"Kyoto"}]]` }],
    });
    const calls: Record<number, { id?: string; name?: string; args: string }> = {};
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const tc of chunk.choices[0]?.delta?.tool_calls ?? []) {
        const c = (calls[tc.index] ??= { args: "" });
        c.id ??= tc.id;
        c.name ??= tc.function?.name;
        c.args += tc.function?.arguments ?? "";
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe("tool_calls");
    expect(calls[0]!.name).toBe("get_weather");
    expect(calls[0]!.id).toBeTruthy();
    expect(JSON.parse(calls[0]!.args)).toEqual({ city: "Kyoto" });
  });
});

describe("openai SDK → a custom provider pushed with `switchyard config push`", () => {
  it("routes with the provider's secret and prices from the pushed config", async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: "acme/llama-70b", messages: [{ role: "user", content: "[[tag=e2e-acme;pt=1000;cached=400;ct=20]]" }] })
      .withResponse();
    expect(data.model).toBe("acme/llama-70b");
    const sent = stack.upstream.log.find((e) => JSON.stringify(e.body).includes("tag=e2e-acme"))!;
    expect(sent.auth).toBe("Bearer sk-acme-e2e");
    expect(sent.body.model).toBe("llama-70b");
    await expectLedger(response.headers.get("x-request-id"), "acme/llama-70b", { prompt: 1000, completion: 20, cached: 400 }, ACME_PRICING);
    const models = (await (await fetch(`${gateway.url}/v1/models`)).json()) as { data: { id: string; pricing: ModelPricing }[] };
    expect(models.data.find((m) => m.id === "acme/llama-70b")!.pricing).toEqual(ACME_PRICING);
  });
});

const anthropicTool: Anthropic.Tool = { name: "get_weather", description: "Weather for a city", input_schema: { type: "object", properties: { city: { type: "string" } } } };

describe.each([
  { upstreamFormat: "OpenAI", model: GPT },
  { upstreamFormat: "Anthropic", model: CLAUDE },
  { upstreamFormat: "Gemini", model: GEMINI },
])("@anthropic-ai/sdk → $upstreamFormat-format provider", ({ upstreamFormat, model }) => {
  const t = (name: string) => `e2e-an-${upstreamFormat}-${name}`;

  it("messages", async () => {
    const { data, response } = await anthropic.messages
      .create({ model, max_tokens: 256, system: "Be brief.", messages: [{ role: "user", content: `[[tag=${t("msg")};reply=Hello there.;pt=400;cached=300;ct=7]]` }] })
      .withResponse();
    expect(data.type).toBe("message");
    expect(data.content).toEqual([{ type: "text", text: "Hello there." }]);
    expect(data.stop_reason).toBe("end_turn");
    expect(data.usage).toMatchObject({ input_tokens: 100, cache_read_input_tokens: 300, output_tokens: 7 });
    const g = await expectLedger(response.headers.get("x-request-id"), model, { prompt: 400, completion: 7, cached: 300 });
    expect((data.usage as unknown as { cost: number }).cost).toBe(g.cost);
  });

  it("stream", async () => {
    const stream = anthropic.messages.stream({ model, max_tokens: 256, messages: [{ role: "user", content: `[[tag=${t("stream")};reply=alpha beta gamma;pt=60;ct=3]]` }] });
    let text = "";
    stream.on("text", (d) => (text += d));
    const { response } = await stream.withResponse();
    const final = await stream.finalMessage();
    expect(text).toBe("alpha beta gamma");
    expect(final.content).toHaveLength(1);
    expect(final.content[0]).toMatchObject({ type: "text", text: "alpha beta gamma" });
    expect(final.stop_reason).toBe("end_turn");
    expect(final.usage).toMatchObject({ input_tokens: 60, output_tokens: 3 });
    await expectLedger(response.headers.get("x-request-id"), model, { prompt: 60, completion: 3 });
  });

  it("tools: a call, then its result sent back", async () => {
    const { data, response } = await anthropic.messages
      .create({ model, max_tokens: 256, tools: [anthropicTool], messages: [{ role: "user", content: `[[tag=${t("tool")};tool=get_weather;args={"city":"Oslo"};pt=90;ct=15]] weather?` }] })
      .withResponse();
    expect(data.stop_reason).toBe("tool_use");
    const use = data.content.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use")!;
    expect(use).toMatchObject({ name: "get_weather", input: { city: "Oslo" } });
    await expectLedger(response.headers.get("x-request-id"), model, { prompt: 90, completion: 15 });

    const followUp = await anthropic.messages.create({
      model,
      max_tokens: 256,
      tools: [anthropicTool],
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: data.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "3 degrees" }, { type: "text", text: `[[tag=${t("tool-result")};reply=Cold.]]` }] },
      ],
    });
    expect(followUp.content.at(-1)).toMatchObject({ type: "text", text: "Cold." });
  });

  it("tools, streamed: input_json deltas assembled by the SDK", async () => {
    const stream = anthropic.messages.stream({ model, max_tokens: 256, tools: [anthropicTool], messages: [{ role: "user", content: `[[tag=${t("tool-stream")};tool=get_weather;args={"city":"Quito"};reply=Checking.]]` }] });
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe("tool_use");
    expect(final.content.find((b) => b.type === "tool_use")).toMatchObject({ name: "get_weather", input: { city: "Quito" } });
    expect(final.content.find((b) => b.type === "text")).toMatchObject({ text: "Checking." });
  });

  it("errors arrive as the SDK's own classes", async () => {
    const missing = await anthropic.messages.create({ model: `${model}-nope`, max_tokens: 5, messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
    const limited = await anthropic.messages.create({ model, max_tokens: 5, messages: [{ role: "user", content: `[[tag=${t("429")};status=429]]` }] }).catch((e) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
  });
});

describe("@anthropic-ai/sdk → OpenAI-format providers, through a failover before the first token", () => {
  it("the primary sends its role chunk and stalls: one message, the fallback's text and tool call, its usage", async () => {
    const stream = anthropic.messages.stream({
      model: GPT,
      max_tokens: 256,
      tools: [{ name: "get_weather", description: "Weather for a city", input_schema: { type: "object", properties: { city: { type: "string" } } } }],
      messages: [{ role: "user", content: "[[tag=e2e-an-fo;stall_after@gpt-4o-mini=1;reply=Looking.;tool=get_weather;args={\"city\":\"Lima\"};pt=70;ct=9]]" }],
      // OpenRouter's routing fields, in the body as they are.
      ...({ models: [GPT, "groq/llama-3.1-8b-instant"], provider: { timeouts_ms: { first_token: 300 }, retries: 0 } } as object),
    });
    const events: string[] = [];
    stream.on("streamEvent", (e) => void events.push(e.type));
    const final = await stream.finalMessage();
    expect(events.filter((e) => e === "message_start")).toHaveLength(1);
    expect(final.content.find((b) => b.type === "text")).toMatchObject({ text: "Looking." });
    expect(final.content.find((b) => b.type === "tool_use")).toMatchObject({ name: "get_weather", input: { city: "Lima" } });
    expect(final.stop_reason).toBe("tool_use");
    expect(final.usage).toMatchObject({ input_tokens: 70, output_tokens: 9 });
    const { response } = await stream.withResponse();
    // The primary was sent the request before the client's own first-token limit gave it up: its prompt is
    // billed too, estimated at bytes/4 of the body it received, beside the fallback's answer (docs/security.md).
    const sent = stack.upstream.log.find((r) => r.body.model === "gpt-4o-mini" && JSON.stringify(r.body).includes("tag=e2e-an-fo;"))!;
    const primaryPrompt = Math.ceil(Buffer.byteLength(JSON.stringify(sent.body)) / 4);
    const g = await generationRecord(gateway, key, response.headers.get("x-request-id")!);
    expect(g).toMatchObject({ model: "groq/llama-3.1-8b-instant", status: "ok", estimated: true, prompt_tokens: 70 + primaryPrompt, completion_tokens: 9 });
    const cost = picodollars(expectedCost("groq/llama-3.1-8b-instant", { prompt: 70, completion: 9 })) + picodollars(expectedCost(GPT, { prompt: primaryPrompt, completion: 0 }));
    expect(g!.cost_exact).toBe(dollars(cost));
  });
});

describe("@anthropic-ai/sdk messages.countTokens", () => {
  it("counts at an Anthropic-format provider, and estimates for other models", async () => {
    const counted = await anthropic.messages.countTokens({ model: CLAUDE, messages: [{ role: "user", content: "[[tag=e2e-count;pt=1234]] hello" }] });
    expect(counted.input_tokens).toBe(1234);
    const { data, response } = await anthropic.messages.countTokens({ model: GPT, messages: [{ role: "user", content: "y".repeat(800) }] }).withResponse();
    expect(data.input_tokens).toBeGreaterThanOrEqual(200);
    expect(response.headers.get("x-switchyard-estimated")).toBe("true");
  });
});
