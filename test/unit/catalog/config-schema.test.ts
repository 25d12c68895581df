import { describe, expect, it } from "vitest";
import { builtinCatalog } from "../../../src/catalog";
import { mergeConfig } from "../../../src/catalog/config";
import { adapterFor } from "../../../src/providers/registry";
import { describeConfigError, GatewayConfig } from "../../../src/catalog/config-schema";
import { costOf, usdToSubunits } from "../../../src/ledger/cost";
import { plainDecimal } from "../../../src/core/decimal";

const provider = { id: "acme", base_url: "https://llm.acme.example/v1", api_key_secret: "ACME_API_KEY" };
const model = { id: "acme/llama-70b", context_length: 131072, pricing: { prompt: "0.0000006", completion: "0.0000008" } };

function error(doc: unknown): string {
  const r = GatewayConfig.safeParse(doc);
  expect(r.success).toBe(false);
  return describeConfigError(r.error!);
}

describe("gateway config schema", () => {
  it("accepts DESIGN.md's example and fills defaults", () => {
    const cfg = GatewayConfig.parse({ providers: [{ ...provider, data_collection: "deny", zdr: true, regions: ["eu"] }], models: [{ ...model, upstream_id: "llama-70b" }] });
    expect(cfg.providers[0]).toMatchObject({ data_collection: "deny", zdr: true, retention_days: null });
    expect(cfg.models[0]!.capabilities).toEqual({});
    expect(GatewayConfig.parse({})).toEqual({ providers: [], models: [] });
  });

  it("rejects unknown fields, inexact prices, unknown and built-in providers, with the path", () => {
    expect(error({ providers: [{ ...provider, key: "x" }] })).toMatch(/^providers\[0\]: .*key/);
    expect(error({ models: [{ ...model, pricing: { prompt: "0.0000000000001", completion: "1" } }] })).toMatch(/^models\[0\]\.pricing\.prompt: /);
    expect(error({ models: [{ ...model, pricing: { prompt: "6e-7", completion: "1" } }] })).toMatch(/^models\[0\]\.pricing\.prompt: /);
    expect(error({ models: [model] })).toBe("models[0].id: unknown provider acme: add it under providers");
    expect(error({ providers: [{ ...provider, id: "openai" }] })).toBe("providers[0].id: openai is a built-in provider");
    expect(error({ providers: [{ ...provider, base_url: "ftp://x" }] })).toMatch(/^providers\[0\]\.base_url: /);
    expect(error({ providers: [{ ...provider, api_key_secret: "lower" }] })).toMatch(/^providers\[0\]\.api_key_secret: /);
    expect(error({ models: [{ ...model, pricing: { prompt: -0.1, completion: 1 } }] })).toMatch(/^models\[0\]\.pricing\.prompt: /);
    expect(error({ models: [{ ...model, pricing: { prompt: 1e-13, completion: 1 } }] })).toMatch(/^models\[0\]\.pricing\.prompt: /);
  });

  it("prefill: none by default, assistant or prefix; carried into the catalog", () => {
    expect(GatewayConfig.parse({ providers: [provider] }).providers[0]!.prefill).toBe("none");
    expect(error({ providers: [{ ...provider, prefill: "always" }] })).toMatch(/^providers\[0\]\.prefill: /);
    for (const prefill of ["assistant", "prefix"] as const) {
      const cfg = GatewayConfig.parse({ providers: [{ ...provider, prefill }], models: [model] });
      expect(mergeConfig(builtinCatalog, cfg, "2026-11-20").provider("acme")!.prefill).toBe(prefill);
    }
  });

  it("takes prices as plain numbers too, as the decimal written", () => {
    const cfg = GatewayConfig.parse({ providers: [provider], models: [{ ...model, pricing: { prompt: 0.0000006, completion: 0.0000024, request: 0.001, input_cache_read: 0 } }] });
    expect(cfg.models[0]!.pricing).toEqual({ prompt: "0.0000006", completion: "0.0000024", request: "0.001", input_cache_read: "0" });
  });
});

describe("plainDecimal", () => {
  it("writes a number's shortest decimal without an exponent", () => {
    expect([5, 5.25, 0.1, 6e-7, 1.5e-11, 2.5e-7, 123456.789, 1e21, 0].map(plainDecimal)).toEqual([
      "5", "5.25", "0.1", "0.0000006", "0.000000000015", "0.00000025", "123456.789", "1000000000000000000000", "0",
    ]);
  });
});

describe("mergeConfig", () => {
  it("adds providers and models, and can reprice a built-in model", () => {
    const cfg = GatewayConfig.parse({
      providers: [provider],
      models: [model, { id: "openai/gpt-4o-mini", context_length: 128000, pricing: { prompt: "0.0000001", completion: "0.0000002" } }],
    });
    const catalog = mergeConfig(builtinCatalog, cfg, "2026-11-20");
    const adapters = [adapterFor(catalog.provider("acme")!)!];
    const m = catalog.model("acme/llama-70b")!;
    expect(m).toMatchObject({ provider: "acme", upstream_id: "llama-70b", max_output: 131072, prices_as_of: "2026-11-20", capabilities: { tools: true, vision: true } });
    expect(catalog.provider("acme")).toMatchObject({ format: "openai", data_policy: { training: true, zdr: false } });
    expect(adapters[0]).toMatchObject({ id: "acme", keyVar: "ACME_API_KEY" });
    expect(adapters[0]!.chatUrl("https://llm.acme.example/v1/", "x", false)).toBe("https://llm.acme.example/v1/chat/completions");
    const mini = catalog.model("openai/gpt-4o-mini")!;
    expect(mini).toMatchObject({ upstream_id: "gpt-4o-mini", name: "OpenAI: GPT-4o-mini", capabilities: { reasoning: false } });
    expect(costOf({ prompt_tokens: 10, completion_tokens: 10, cached_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0 }, mini.pricing)).toBe(
      10n * usdToSubunits("0.0000001") + 10n * usdToSubunits("0.0000002"),
    );
    expect(catalog.models.length).toBe(builtinCatalog.models.length + 1);
  });

  it("a provider with responses: true serves the Responses API at <base_url>/responses; without it, none", () => {
    const cfg = GatewayConfig.parse({ providers: [{ ...provider, responses: true }, { ...provider, id: "plain", api_key_secret: "PLAIN_API_KEY" }] });
    const catalog = mergeConfig(builtinCatalog, cfg, "2026-11-20");
    const adapters = [adapterFor(catalog.provider("acme")!)!, adapterFor(catalog.provider("plain")!)!];
    expect(adapters[0]!.responses?.url("https://llm.acme.example/v1/")).toBe("https://llm.acme.example/v1/responses");
    expect(adapters[1]!.responses).toBeUndefined();
    expect(GatewayConfig.safeParse({ providers: [{ ...provider, responses: "yes" }] }).success).toBe(false);
  });
});

describe("embedding models in the config", () => {
  it("takes kind: embedding (capabilities none, max_output 0 unless stated), refuses another kind, keeps a repriced built-in's kind", () => {
    expect(error({ providers: [provider], models: [{ ...model, kind: "vector" }] })).toMatch(/^models\[0\]\.kind: /);
    const cfg = GatewayConfig.parse({
      providers: [provider],
      models: [
        { ...model, id: "acme/embed", kind: "embedding", pricing: { prompt: "0.00000003", completion: "0" } },
        { id: "openai/text-embedding-3-small", context_length: 8192, pricing: { prompt: "0.00000001", completion: "0" } },
      ],
    });
    const catalog = mergeConfig(builtinCatalog, cfg, "2026-11-20");
    const adapters = [adapterFor(catalog.provider("acme")!)!];
    expect(catalog.model("acme/embed")).toMatchObject({ kind: "embedding", max_output: 0, capabilities: { tools: false, vision: false, json_mode: false, reasoning: false } });
    expect(catalog.model("acme/llama-70b")).toBeUndefined();
    expect(catalog.model("openai/text-embedding-3-small")).toMatchObject({ kind: "embedding", pricing: { prompt: "0.00000001" } });
    expect(adapters[0]!.embeddings!.url("https://llm.acme.example/v1/")).toBe("https://llm.acme.example/v1/embeddings");
  });
});

describe("custom providers cannot borrow secrets or reach internal hosts", () => {
  it("refuses the admin token, the audit signing key, a built-in provider's key and a secret another provider uses", () => {
    for (const secret of ["ADMIN_TOKEN", "AUDIT_SIGNING_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY", "MOCK_API_KEY"]) {
      expect(error({ providers: [{ ...provider, api_key_secret: secret }] }), secret).toMatch(/^providers\[0\]\.api_key_secret: .*(gateway's own|built-in provider)/);
    }
    const twice = { providers: [provider, { ...provider, id: "acme2" }] };
    expect(error(twice)).toBe("providers[1].api_key_secret: ACME_API_KEY is already the secret of provider acme");
  });

  it("takes https anywhere and http only on loopback", () => {
    for (const base_url of ["https://llm.acme.example/v1", "http://127.0.0.1:9100/v1", "http://127.9.0.3/v1", "http://localhost:8080", "http://[::1]:9100/v1"]) {
      expect(GatewayConfig.safeParse({ providers: [{ ...provider, base_url }] }).success, base_url).toBe(true);
    }
    for (const base_url of ["http://llm.acme.example/v1", "http://10.0.0.1/v1", "http://[::ffff:7f00:1]/v1x"]) {
      expect(error({ providers: [{ ...provider, base_url }] }), base_url).toMatch(/^providers\[0\]\.base_url: .*https/);
    }
  });

  it("refuses link-local and cloud metadata addresses, however the address is written", () => {
    for (const base_url of [
      "https://169.254.169.254/latest", "http://169.254.169.254/", "https://169.254.1.1/v1", "https://2852039166/v1", "https://0xA9FEA9FE/",
      "https://[fe80::1]/v1", "https://[febf::1]/v1", "https://[::ffff:169.254.169.254]/", "https://metadata.google.internal/v1",
      "https://METADATA.GOOGLE.INTERNAL./x", "https://100.100.100.200/", "https://[fd00:ec2::254]/",
    ]) {
      expect(error({ providers: [{ ...provider, base_url }] }), base_url).toMatch(/^providers\[0\]\.base_url: .*(link-local|metadata)/);
    }
  });
});
