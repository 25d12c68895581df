import { describe, expect, it } from "vitest";
import { chat, estimatedTokens, eventually, expectedCost, generationOf, newTeamKey, sentText, uniqueTag, upstreamLog, userMsg } from "./helpers";

describe("POST /v1/chat/completions, not streamed", () => {
  it("forwards to the provider with its model id and key, without the gateway's own fields", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("ns");
    const messages = [
      { role: "system", content: "be brief" },
      { role: "user", content: `[[tag=${tag};reply=Forty-two.]] what is the answer?` },
    ];
    const r = await chat(k.key, {
      model: "openai/gpt-4o-mini",
      models: ["mock/echo"],
      provider: { sort: "price", allow_fallbacks: true },
      messages,
      temperature: 0.25,
      seed: 7,
      response_format: { type: "text" },
    });
    expect(r.status).toBe(200);
    const log = await upstreamLog(tag);
    expect(log).toHaveLength(1);
    expect(log[0]!.path).toBe("/v1/chat/completions");
    expect(log[0]!.auth).toBe("Bearer sk-test-upstream");
    expect(log[0]!.body).toEqual({ model: "gpt-4o-mini", messages, temperature: 0.25, seed: 7, response_format: { type: "text" } });
  });

  it("answers with the provider's completion, our headers, provider and exact usage.cost", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("ns-cost");
    const r = await chat(k.key, {
      model: "openai/gpt-4o-mini",
      messages: userMsg(`[[tag=${tag};reply=Exact money.;pt=1234;ct=567;cached=200]]`),
    });
    expect(r.status).toBe(200);
    const id = r.headers.get("x-request-id")!;
    expect(id).toMatch(/^gen-\d+-[0-9a-f]{20}$/);
    expect(r.headers.get("x-switchyard-provider")).toBe("openai");
    expect(r.headers.get("x-switchyard-model")).toBe("openai/gpt-4o-mini");
    expect(r.headers.get("content-type")).toBe("application/json");
    const body = (await r.json()) as any;
    const cost = expectedCost("openai/gpt-4o-mini", { prompt: 1234, completion: 567, cached: 200 });
    // (1234 − 200) × 0.00000015 + 200 × 0.000000075 + 567 × 0.0000006
    expect(cost).toBe("0.000510300000");
    expect(body).toEqual({
      id: `chatcmpl-${tag}`,
      object: "chat.completion",
      created: 1700000000,
      model: "openai/gpt-4o-mini",
      provider: "OpenAI",
      choices: [{ index: 0, message: { role: "assistant", content: "Exact money." }, finish_reason: "stop", logprobs: null }],
      // The provider sent none; OpenRouter's SDK requires the field.
      system_fingerprint: null,
      usage: {
        prompt_tokens: 1234,
        completion_tokens: 567,
        total_tokens: 1801,
        prompt_tokens_details: { cached_tokens: 200 },
        completion_tokens_details: { reasoning_tokens: 0 },
        cost: Number(cost),
      },
    });
    const g = await eventually(() => generationOf(k.key, id));
    expect(g.cost_exact).toBe(cost);
  });

  it("prices reasoning and cache writes as the catalog says", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("ns-reason");
    const r = await chat(k.key, {
      model: "openai/gpt-6.1-sol",
      messages: userMsg(`[[tag=${tag};pt=5000;cached=1000;cw=3000;ct=900;reasoning=700]]`),
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as any;
    const cost = expectedCost("openai/gpt-6.1-sol", { prompt: 5000, completion: 900, cached: 1000, cacheWrite: 3000, reasoning: 700 });
    // 1000 × 2e-6 + 1000 × 1e-7 + 3000 × 2.5e-6 + 200 × 1e-5 + 700 × 1e-5
    expect(cost).toBe("0.018600000000");
    expect(body.usage.cost).toBe(0.0186);
    const g = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(g).toMatchObject({ prompt_tokens: 5000, cached_tokens: 1000, cache_write_tokens: 3000, completion_tokens: 900, reasoning_tokens: 700, cost_exact: cost });
  });

  it("estimates, and says so, when the provider reports no usage", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("ns-nousage");
    const text = `[[tag=${tag};no_usage=1;reply=abcdefghij]]`;
    const r = await chat(k.key, { model: "openai/gpt-4o-mini", messages: userMsg(text) });
    expect(r.status).toBe(200);
    const body = (await r.json()) as any;
    // The prompt: the whole body the provider received; the completion: the answer's 10 bytes.
    const [received] = await upstreamLog(tag);
    const prompt = estimatedTokens(sentText(received!));
    expect(prompt).toBeGreaterThan(estimatedTokens(text) + 4);
    const completion = estimatedTokens("abcdefghij");
    const cost = expectedCost("openai/gpt-4o-mini", { prompt, completion });
    expect(body.usage).toEqual({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, cost: Number(cost) });
    const g = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(g).toMatchObject({ estimated: true, estimate_method: "bytes/4", status: "ok", cost_exact: cost });
  });

  it("answers mock/echo offline with the last user message and its usage priced", async () => {
    const k = await newTeamKey();
    const r = await chat(k.key, { model: "mock/echo", messages: [{ role: "user", content: "first" }, { role: "assistant", content: "x" }, { role: "user", content: "Hello, mock!" }] });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-switchyard-provider")).toBe("mock");
    const body = (await r.json()) as any;
    expect(body.choices[0].message).toEqual({ role: "assistant", content: "Hello, mock!" });
    expect(body.provider).toBe("Switchyard mock");
    expect(body.model).toBe("mock/echo");
    const { prompt_tokens, completion_tokens } = body.usage;
    expect(prompt_tokens).toBe(2 + 4 + 1 + 4 + 3 + 4);
    expect(completion_tokens).toBe(3);
    expect(body.usage.cost).toBe(Number(expectedCost("mock/echo", { prompt: prompt_tokens, completion: completion_tokens })));
  });
});
