import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dollars, expectedCost, picodollars } from "../support/money";
import { startE2E, type E2EStack, type LocalGateway } from "./gateway";

/** The official OpenAI SDK, unmodified but for baseURL and apiKey, against the gateway served by workerd. */
let stack: E2EStack;
let gateway: LocalGateway;
let client: OpenAI;
let key: string;

beforeAll(async () => {
  stack = await startE2E({ providers: ["openai", "groq"], vars: { OPENAI_API_KEY: "sk-e2e-upstream", MOCK_PROVIDER: "on" } });
  ({ gateway, key } = stack);
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key });
});

afterAll(() => stack?.stop());

type Usage = OpenAI.CompletionUsage & { cost: number };

describe("the openai SDK through the gateway", () => {
  it("mock/echo, not streamed", async () => {
    const r = await client.chat.completions.create({ model: "mock/echo", messages: [{ role: "user", content: "Hello from the SDK" }] });
    expect(r.choices[0]!.message.content).toBe("Hello from the SDK");
    expect(r.model).toBe("mock/echo");
    const usage = r.usage as Usage;
    expect(usage.prompt_tokens).toBe(9);
    expect(usage.completion_tokens).toBe(5);
    expect(usage.cost).toBe(Number(expectedCost("mock/echo", { prompt: 9, completion: 5 })));
  });

  it("mock/echo, streamed", async () => {
    const stream = await client.chat.completions.create({ model: "mock/echo", messages: [{ role: "user", content: "one two three" }], stream: true });
    let text = "";
    let usage: Usage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage as Usage;
    }
    expect(text).toBe("one two three");
    expect(usage).toMatchObject({ prompt_tokens: 8, completion_tokens: 4 });
    expect(usage!.cost).toBe(Number(expectedCost("mock/echo", { prompt: 8, completion: 4 })));
  });

  it("openai/gpt-4o-mini through the fake provider, not streamed", async () => {
    const { data: r, response } = await client.chat.completions
      .create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "[[tag=e2e-ns;reply=Forwarded.;pt=1500;ct=42;cached=500]]" }] })
      .withResponse();
    expect(r.choices[0]!.message.content).toBe("Forwarded.");
    expect(r.model).toBe("openai/gpt-4o-mini");
    expect((r as unknown as { provider: string }).provider).toBe("OpenAI");
    expect(response.headers.get("x-switchyard-provider")).toBe("openai");
    expect(response.headers.get("x-request-id")).toMatch(/^gen-/);
    const cost = expectedCost("openai/gpt-4o-mini", { prompt: 1500, completion: 42, cached: 500 });
    expect(cost).toBe("0.000212700000");
    expect((r.usage as Usage).cost).toBe(Number(cost));
    const sent = stack.upstream.log.filter((e) => e.body.messages && JSON.stringify(e.body).includes("tag=e2e-ns"));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.auth).toBe("Bearer sk-e2e-upstream");
    expect(sent[0]!.body.model).toBe("gpt-4o-mini");
  });

  it("openai/gpt-4o-mini through the fake provider, streamed", async () => {
    const stream = await client.chat.completions.create({
      model: "openai/gpt-4o-mini",
      messages: [{ role: "user", content: "[[tag=e2e-st;reply=Streamed through the gateway.;pt=64;ct=5]]" }],
      stream: true,
    });
    const deltas: string[] = [];
    let usage: Usage | undefined;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) deltas.push(chunk.choices[0].delta.content);
      if (chunk.usage) usage = chunk.usage as Usage;
    }
    expect(deltas).toEqual(["Streamed ", "through ", "the ", "gateway."]);
    expect(usage).toMatchObject({ prompt_tokens: 64, completion_tokens: 5 });
    expect(usage!.cost).toBe(Number(expectedCost("openai/gpt-4o-mini", { prompt: 64, completion: 5 })));
    const sent = stack.upstream.log.find((e) => JSON.stringify(e.body).includes("tag=e2e-st"));
    expect(sent!.body.stream_options).toEqual({ include_usage: true });
  });

  it("maps gateway errors to the SDK's error classes", async () => {
    const missing = await client.chat.completions.create({ model: "openai/gpt-4o-mnii", messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing.status).toBe(404);
    expect(missing.code).toBe("model_not_found");

    const stranger = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "sk-sy-not-a-real-key-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", maxRetries: 0 });
    const denied = await stranger.chat.completions.create({ model: "mock/echo", messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(denied).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(denied.status).toBe(401);
  });

  it("shows every answered request in /v1/usage", async () => {
    type UsageReport = { groups: { model: string; requests: number }[]; totals: { requests: number } };
    // Usage lands within the batch window (100 ms) after each answer.
    let u: UsageReport | undefined;
    for (const until = Date.now() + 5_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
      const r = await fetch(`${gateway.url}/v1/usage?group_by=model`, { headers: { authorization: `Bearer ${key}` } });
      expect(r.status).toBe(200);
      u = (await r.json()) as UsageReport;
      if (u.totals.requests >= 4) break;
    }
    if (!u) throw new Error("no usage");
    expect(u.groups.map((g) => [g.model, g.requests])).toEqual([
      ["mock/echo", 2],
      ["openai/gpt-4o-mini", 2],
    ]);
    expect(u.totals.requests).toBe(4);
  });
});

describe("the openai SDK through a failover before the first token", () => {
  // OpenRouter's routing fields go in the body as they are; the SDK passes unknown fields through.
  const routed = (tag: string, directives: string) =>
    ({
      model: "openai/gpt-4.1-mini",
      models: ["openai/gpt-4.1-mini", "groq/llama-3.1-8b-instant"],
      provider: { timeouts_ms: { first_token: 300 }, retries: 0 },
      messages: [{ role: "user" as const, content: `[[tag=${tag};${directives}]]` }],
      stream: true as const,
    }) as OpenAI.ChatCompletionCreateParamsStreaming;

  it("a primary that sends its role chunk and then nothing: the stream goes on with the fallback's answer", async () => {
    const stream = client.chat.completions.stream(routed("e2e-fo", "stall_after@gpt-4.1-mini=1;reply@llama-3.1-8b-instant=from the fallback;ct=3"));
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const done = await stream.finalChatCompletion();
    expect(done.choices[0]!.message).toMatchObject({ role: "assistant", content: "from the fallback" });
    expect(done.choices[0]!.finish_reason).toBe("stop");
    expect(chunks.filter((c) => c.choices[0]?.delta?.role === "assistant")).toHaveLength(1);
    const last = chunks.at(-1) as OpenAI.ChatCompletionChunk & { provider: string; usage: Usage };
    expect(last.model).toBe("groq/llama-3.1-8b-instant");
    expect(last.usage.completion_tokens).toBe(3);
    // The primary was sent the request before the client's own first-token limit gave it up: its prompt is
    // billed too, estimated at bytes/4 of the body it received, beside the fallback's answer (docs/security.md).
    const sent = stack.upstream.log.find((r) => r.body.model === "gpt-4.1-mini" && JSON.stringify(r.body).includes("tag=e2e-fo;"))!;
    const primaryPrompt = Math.ceil(Buffer.byteLength(JSON.stringify(sent.body)) / 4);
    const fallback = picodollars(expectedCost("groq/llama-3.1-8b-instant", { prompt: last.usage.prompt_tokens, completion: 3 }));
    const abandoned = picodollars(expectedCost("openai/gpt-4.1-mini", { prompt: primaryPrompt, completion: 0 }));
    expect(last.usage.cost).toBe(Number(dollars(fallback + abandoned)));
  });

  it("when no candidate sends a first token, the SDK raises the in-band error", async () => {
    const err = await (async () => {
      const stream = await client.chat.completions.create(routed("e2e-fo-none", "stall_after=1"));
      for await (const _ of stream) void _;
    })().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(String(err.message)).toMatch(/no first token from groq within 300 ms/);
  });
});
