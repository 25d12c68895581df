import { describe, expect, it } from "vitest";
import { fakeVector } from "../support/fake-vector";
import { chat, estimatedTokens, eventually, expectedCost, expectError, generationOf, gw, newTeamKey, uniqueTag, upstreamLog, userMsg } from "./helpers";
import { teamWithPolicy } from "./routing-helpers";

const SMALL = "openai/text-embedding-3-small";
const LARGE = "openai/text-embedding-3-large";
const GEMINI = "gemini/gemini-embedding-001";

function embed(key: string, body: Record<string, unknown>): Promise<Response> {
  return gw("/v1/embeddings", { method: "POST", key, json: body });
}

describe("POST /v1/embeddings", () => {
  it("forwards OpenAI's body to <base>/embeddings and answers with the vectors, the catalog id and exact usage.cost", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("emb");
    const input = [`[[tag=${tag};pt=123457]] first`, "second"];
    const r = await embed(k.key, { model: SMALL, input, dimensions: 4, encoding_format: "float", user: "u-1", provider: { sort: "price" } });
    expect(r.status, await r.clone().text()).toBe(200);
    const log = await upstreamLog(tag);
    expect(log).toHaveLength(1);
    expect(log[0]!.path).toBe("/v1/embeddings");
    expect(log[0]!.auth).toBe("Bearer sk-test-upstream");
    expect(log[0]!.body).toEqual({ model: "text-embedding-3-small", input, dimensions: 4, encoding_format: "float", user: "u-1" });

    const id = r.headers.get("x-request-id")!;
    expect(r.headers.get("x-switchyard-model")).toBe(SMALL);
    const cost = expectedCost(SMALL, { prompt: 123457, completion: 0 });
    // 123457 × $0.00000002
    expect(cost).toBe("0.002469140000");
    expect(await r.json()).toEqual({
      object: "list",
      data: input.map((t, index) => ({ object: "embedding", index, embedding: fakeVector(JSON.stringify(t), 4) })),
      model: SMALL,
      usage: { prompt_tokens: 123457, total_tokens: 123457, cost: Number(cost) },
    });
    const g = await eventually(() => generationOf(k.key, id));
    expect(g).toMatchObject({ model: SMALL, provider: "openai", status: "ok", streamed: false, estimated: false, prompt_tokens: 123457, completion_tokens: 0, cost_exact: cost });
    expect(g.user).toBe("u-1");
  });

  it("sends Gemini embeddings to its OpenAI-compatible endpoint, a single string input", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("emb-gem");
    const r = await embed(k.key, { model: GEMINI, input: `[[tag=${tag};pt=40]] one text` });
    expect(r.status, await r.clone().text()).toBe(200);
    const log = await upstreamLog(tag);
    expect(log.map((e) => [e.path, e.auth, e.body.model])).toEqual([["/v1beta/openai/embeddings", "Bearer gemini-test-upstream", "gemini-embedding-001"]]);
    const body = (await r.json()) as any;
    expect(body.model).toBe(GEMINI);
    expect(body.usage.cost).toBe(Number(expectedCost(GEMINI, { prompt: 40, completion: 0 })));
  });

  it("fails over to the next embedding model before answering, billed at the model that answered", async () => {
    const k = await teamWithPolicy({ routing: { retries: 0 } });
    const tag = uniqueTag("emb-fo");
    const r = await embed(k.key, { model: LARGE, models: [GEMINI], input: [`[[tag=${tag};pt=1000;status@text-embedding-3-large=503]] a`] });
    expect(r.status, await r.clone().text()).toBe(200);
    expect((await upstreamLog(tag)).map((e) => e.body.model)).toEqual(["text-embedding-3-large", "gemini-embedding-001"]);
    const body = (await r.json()) as any;
    expect(body.model).toBe(GEMINI);
    const cost = expectedCost(GEMINI, { prompt: 1000, completion: 0 });
    expect(body.usage.cost).toBe(Number(cost));
    const g = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(g).toMatchObject({ model: GEMINI, provider: "gemini", status: "ok", cost_exact: cost });
    expect(g.attempts.map((a: any) => [a.model, a.status, a.ok])).toEqual([[LARGE, 503, false], [GEMINI, 200, true]]);
  });

  it("bills an estimate, marked estimated, when the provider reports no usage", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("emb-nousage");
    const input = [`[[tag=${tag};no_usage=1]] some words to embed`, "and more"];
    const r = await embed(k.key, { model: SMALL, input });
    expect(r.status).toBe(200);
    const prompt = estimatedTokens(input[0]!) + estimatedTokens(input[1]!);
    const body = (await r.json()) as any;
    expect(body.usage).toEqual({ prompt_tokens: prompt, total_tokens: prompt, cost: Number(expectedCost(SMALL, { prompt, completion: 0 })) });
    const g = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(g).toMatchObject({ estimated: true, prompt_tokens: prompt });
  });

  it("refuses what the team's policy denies, without calling the provider", async () => {
    const k = await teamWithPolicy({ models: { deny: ["openai/*"] } });
    const tag = uniqueTag("emb-deny");
    await expectError(await embed(k.key, { model: SMALL, input: `[[tag=${tag}]] x` }), 403, "policy_denied");
    expect(await upstreamLog(tag)).toEqual([]);
  });

  it("holds the budget for the input's bound: 402 before the provider is called when it cannot fit", async () => {
    const k = await teamWithPolicy({ budgets: [{ scope: "team", period: "day", limit_usd: "0.0001" }] });
    const tag = uniqueTag("emb-budget");
    // ~20 kB of input at $0.13/M may cost up to ~$0.0026: over the $0.0001 left.
    const input = [`[[tag=${tag}]]`, ...Array.from({ length: 200 }, (_, i) => `text number ${i} `.repeat(6))];
    const refused = await embed(k.key, { model: LARGE, input });
    expect(refused.status).toBe(402);
    expect(((await refused.json()) as any).error.code).toBe("insufficient_budget");
    expect(await upstreamLog(tag)).toEqual([]);
    // A small one fits, and is charged what the provider counted.
    const ok = await embed(k.key, { model: LARGE, input: [`[[tag=${tag};pt=3]] small`] });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as any).usage.cost).toBe(Number(expectedCost(LARGE, { prompt: 3, completion: 0 })));
  });

  it("answers 400 to input that is not a string, strings or token ids", async () => {
    const k = await newTeamKey();
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ model: SMALL }, /^input: input is required/],
      [{ model: SMALL, input: "" }, /^input: input must not be empty/],
      [{ model: SMALL, input: [] }, /^input: input must not be empty/],
      [{ model: SMALL, input: ["ok", ""] }, /^input: input\[1\] must be/],
      [{ model: SMALL, input: [{ text: "x" }] }, /^input: input\[0\] must be/],
      [{ model: SMALL, input: [1, -2] }, /token ids must be non-negative integers/],
      [{ model: SMALL, input: ["a", [1, 2]] }, /mixes strings and token arrays/],
      [{ model: SMALL, input: 42 }, /^input: input must be a string/],
      [{ model: SMALL, input: Array.from({ length: 2049 }, () => "a") }, /at most 2048 inputs/],
      [{ model: SMALL, input: "x", encoding_format: "hex" }, /^encoding_format/],
      [{ model: SMALL, input: "x", dimensions: 0 }, /^dimensions/],
      [{ input: "x" }, /^model: model is required/],
    ];
    for (const [body, message] of bad) {
      const e = await expectError(await embed(k.key, body), 400, "bad_request");
      expect(e.message, JSON.stringify(body).slice(0, 80)).toMatch(message);
    }
  });

  it("takes token ids, one array or many", async () => {
    const k = await newTeamKey();
    for (const input of [[1, 2, 3], [[1, 2], [3]]]) {
      const r = await embed(k.key, { model: SMALL, input });
      expect(r.status, await r.clone().text()).toBe(200);
      expect(((await r.json()) as any).data).toHaveLength(Array.isArray(input[0]) ? 2 : 1);
    }
  });

  it("answers 400 to a chat model asked for embeddings, and to an embedding model asked for chat", async () => {
    const k = await teamWithPolicy({ routing: { retries: 0 } });
    const e1 = await expectError(await embed(k.key, { model: "openai/gpt-4o-mini", input: "x" }), 400, "bad_request");
    expect(e1.message).toMatch(/^openai\/gpt-4o-mini is a chat model, not an embedding model/);
    const e2 = await expectError(await chat(k.key, { model: SMALL, messages: userMsg("hi") }), 400, "bad_request");
    expect(e2.message).toBe(`${SMALL} is an embedding model: send it to POST /v1/embeddings`);
    // A chat request whose fallback is an embedding model is served by the chat model alone.
    const tag = uniqueTag("emb-mixed");
    const r = await chat(k.key, { model: "openai/gpt-4o-mini", models: [SMALL], messages: userMsg(`[[tag=${tag};status=503]] hi`) });
    expect(r.status).toBe(502);
    expect((await upstreamLog(tag)).every((e) => e.path === "/v1/chat/completions")).toBe(true);
  });

  it("is for inference keys only", async () => {
    const k = await newTeamKey({ scopes: ["usage:read"] });
    await expectError(await embed(k.key, { model: SMALL, input: "x" }), 403, "forbidden");
  });
});

describe("GET /v1/models and embedding models", () => {
  it("lists them with output modality embeddings and their price per input token", async () => {
    const r = await gw("/v1/models");
    const { data } = (await r.json()) as { data: any[] };
    const small = data.find((m) => m.id === SMALL);
    expect(small.architecture).toMatchObject({ modality: "text->embeddings", input_modalities: ["text"], output_modalities: ["embeddings"] });
    expect(small.pricing).toEqual({ prompt: "0.00000002", completion: "0" });
    expect(small.supported_parameters).toEqual(["encoding_format", "dimensions", "user"]);
    const embedding = data.filter((m) => m.architecture.output_modalities.includes("embeddings")).map((m) => m.id);
    expect(embedding).toEqual(expect.arrayContaining([SMALL, LARGE, GEMINI, "mistral/mistral-embed", "together/BAAI/bge-large-en-v1.5", "fireworks/nomic-embed-text-v1.5"]));
    expect(data.find((m) => m.id === "openai/gpt-4o-mini").architecture.output_modalities).toEqual(["text"]);
  });
});
