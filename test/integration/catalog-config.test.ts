import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CONFIG_KV_KEY, type StoredConfig } from "../../src/catalog/config-schema";
import { BUILTIN_MODELS, BUILTIN_PROVIDERS } from "../../src/catalog/builtin";
import { chat, eventually, generationOf, newTeamKey, upstreamLog } from "./helpers";
import { dollars, messages, priceCost, tag } from "./format-helpers";

const ACME_PRICING = { prompt: "0.0000006", completion: "0.0000008", input_cache_read: "0.00000015" };

/** What `switchyard config push` writes to KV (the CLI's own test covers the push). */
async function pushConfig(document: unknown, version: number) {
  const stored: StoredConfig = { version, document, pushed_at: "2026-11-20" };
  await env.KV.put(CONFIG_KV_KEY, JSON.stringify(stored));
}

const ACME = {
  providers: [{ id: "acme", base_url: `${env.UPSTREAM_ORIGIN}/v1`, api_key_secret: "ACME_API_KEY", data_collection: "deny", zdr: true, regions: ["eu"] }],
  models: [
    { id: "acme/llama-70b", upstream_id: "llama-70b", context_length: 131072, pricing: ACME_PRICING, capabilities: { vision: false } },
    { id: "acme/nokey", context_length: 1000, pricing: { prompt: "0.000001", completion: "0.000001" } },
  ],
};

describe("GET /v1/models", () => {
  it("lists every built-in model in OpenRouter's shape, prices as strings, without a key", async () => {
    const r = await SELF.fetch("http://gateway/v1/models");
    expect(r.status).toBe(200);
    const { data } = (await r.json()) as { data: any[] };
    const ids = new Set(data.map((m) => m.id));
    for (const m of BUILTIN_MODELS) expect(ids.has(m.id), m.id).toBe(true);
    for (const p of BUILTIN_PROVIDERS) expect(data.some((m) => m.endpoints[0].provider === p.id), p.id).toBe(true);
    const haiku = data.find((m) => m.id === "anthropic/claude-haiku-4.5");
    expect(haiku).toMatchObject({
      name: "Anthropic: Claude Haiku 4.5",
      context_length: 200000,
      pricing: { prompt: "0.000001", completion: "0.000005", input_cache_read: "0.0000001", input_cache_write: "0.00000125" },
      top_provider: { context_length: 200000, max_completion_tokens: 64000 },
      architecture: { input_modalities: ["text", "image"], output_modalities: ["text"] },
      prices_as_of: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    });
    expect(typeof haiku.created).toBe("number");
    expect(haiku.supported_parameters).toEqual(expect.arrayContaining(["tools", "tool_choice", "reasoning", "response_format", "max_tokens", "top_k"]));
    expect(haiku.endpoints[0]).toMatchObject({ provider: "anthropic", provider_name: "Anthropic", data_policy: { training: false, zdr: false } });
    // How each endpoint continues a cut answer: Anthropic natively, Mistral and DeepSeek with `prefix: true`.
    const prefillOf = (provider: string) => data.find((m) => m.endpoints[0].provider === provider).endpoints[0].prefill;
    expect([prefillOf("anthropic"), prefillOf("mistral"), prefillOf("deepseek"), prefillOf("openai"), prefillOf("groq")]).toEqual(["assistant", "prefix", "prefix", "none", "none"]);
    for (const m of data) for (const v of Object.values(m.pricing)) expect(v).toMatch(/^\d+(\.\d+)?$/);
  });

  it("filters by supported_parameters", async () => {
    const { data } = (await (await SELF.fetch("http://gateway/v1/models?supported_parameters=tools,reasoning")).json()) as { data: any[] };
    expect(data.length).toBeGreaterThan(0);
    expect(data.every((m) => m.supported_parameters.includes("reasoning"))).toBe(true);
  });
});

describe("gateway config merged into the catalog", () => {
  it("adds custom providers and models: listed, routed with the provider's secret, priced from the config", async () => {
    await pushConfig(ACME, 1);
    const { data } = (await (await SELF.fetch("http://gateway/v1/models")).json()) as { data: any[] };
    const acme = data.find((m) => m.id === "acme/llama-70b");
    expect(acme).toMatchObject({ pricing: ACME_PRICING, context_length: 131072, prices_as_of: "2026-11-20" });
    expect(acme.endpoints[0].data_policy).toEqual({ training: false, retention_days: 0, zdr: true, regions: ["eu"] });
    expect(acme.endpoints[0].prefill).toBe("none");

    const k = await newTeamKey();
    const t = tag("acme");
    const r = await chat(k.key, { model: "acme/llama-70b", messages: [{ role: "user", content: `hi [[tag=${t};pt=1000;cached=400;ct=50]]` }] });
    expect(r.status).toBe(200);
    const [sent] = await upstreamLog(t);
    expect(sent!.auth).toBe("Bearer sk-acme-test");
    expect(sent!.body.model).toBe("llama-70b");
    const g = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(g).toMatchObject({ model: "acme/llama-70b", provider: "acme", prompt_tokens: 1000, cached_tokens: 400, completion_tokens: 50 });
    expect(g.cost_exact).toBe(dollars(priceCost(ACME_PRICING, { prompt: 1000, completion: 50, cached: 400 })));

    // The Anthropic format reaches a custom OpenAI-compatible provider too.
    const t2 = tag("acme-an");
    const a = await messages(k.key, { model: "acme/llama-70b", max_tokens: 20, messages: [{ role: "user", content: `hi [[tag=${t2}]]` }] });
    expect(a.status).toBe(200);
    expect(((await a.json()) as any).content[0].text).toBe("Hello from upstream");
    expect((await upstreamLog(t2))[0]!.body.max_tokens).toBe(20);
  });

  it("refuses what the model cannot take (400) unless require_parameters is false, then drops it", async () => {
    await pushConfig(ACME, 2);
    const k = await newTeamKey();
    const msgs = (t: string) => [{ role: "user", content: [{ type: "text", text: `see [[tag=${t}]]` }, { type: "image_url", image_url: { url: "https://x.test/a.png" } }] }];
    const r = await chat(k.key, { model: "acme/llama-70b", messages: msgs(tag("img")) });
    expect(r.status).toBe(400);
    const err = ((await r.json()) as any).error;
    expect(err.code).toBe("unsupported_parameter");
    expect(err.message).toContain("image input");

    const t = tag("img-drop");
    const ok = await chat(k.key, { model: "acme/llama-70b", messages: msgs(t), provider: { require_parameters: false } });
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
    expect((await upstreamLog(t))[0]!.body.messages[0].content).toEqual([{ type: "text", text: `see [[tag=${t}]]` }]);

    const an = await messages(k.key, {
      model: "acme/llama-70b",
      max_tokens: 5,
      messages: [{ role: "user", content: [{ type: "image", source: { type: "url", url: "https://x.test/a.png" } }] }],
    });
    expect(an.status).toBe(400);
    expect(((await an.json()) as any).error.type).toBe("invalid_request_error");
  });

  it("a custom provider whose secret is unset is not routed to", async () => {
    await pushConfig({ ...ACME, providers: [{ ...ACME.providers[0], api_key_secret: "UNSET_API_KEY" }] }, 3);
    const k = await newTeamKey();
    const r = await chat(k.key, { model: "acme/llama-70b", messages: [{ role: "user", content: "x" }] });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(((await r.json()) as any).error.message).toContain("UNSET_API_KEY");
    await pushConfig(ACME, 4);
  });

  it("a stored config that borrows another secret or points at a metadata address is refused: nothing is routed by it", async () => {
    const k = await newTeamKey();
    const evil = (provider: Record<string, unknown>, version: number) =>
      pushConfig({ providers: [{ id: "evil", base_url: `${env.UPSTREAM_ORIGIN}/v1`, api_key_secret: "EVIL_API_KEY", ...provider }], models: [{ id: "evil/m", context_length: 1000, pricing: { prompt: "0.000001", completion: "0.000001" } }] }, version);
    for (const [i, provider] of [{ api_key_secret: "OPENAI_API_KEY" }, { api_key_secret: "ADMIN_TOKEN" }, { base_url: "http://169.254.169.254/v1" }].entries()) {
      await evil(provider, 10 + i);
      const t = tag("evil");
      const r = await chat(k.key, { model: "evil/m", messages: [{ role: "user", content: `x [[tag=${t}]]` }] });
      expect(r.status, JSON.stringify(provider)).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      await r.body?.cancel();
      expect(await upstreamLog(t)).toEqual([]);
    }
    await pushConfig(ACME, 20);
  });
});
