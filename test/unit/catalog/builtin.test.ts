import { describe, it, expect } from "vitest";
import { BUILTIN_MODELS, BUILTIN_PROVIDERS } from "../../../src/catalog/builtin";
import type { ModelPricing } from "../../../src/catalog/types";

const PRICE = /^\d+(\.\d+)?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function decimals(price: string): number {
  const dot = price.indexOf(".");
  return dot === -1 ? 0 : price.length - dot - 1;
}

function priceEntries(p: ModelPricing): [string, string][] {
  return Object.entries(p).filter((e): e is [string, string] => e[1] !== undefined);
}

describe("built-in providers", () => {
  it("are exactly the documented set, each once", () => {
    const ids = BUILTIN_PROVIDERS.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(
      ["anthropic", "deepseek", "fireworks", "gemini", "groq", "mistral", "mock", "openai", "openrouter", "together", "xai"],
    );
  });

  it("speak the right wire format", () => {
    for (const p of BUILTIN_PROVIDERS) {
      const expected = p.id === "anthropic" ? "anthropic" : p.id === "gemini" ? "gemini" : "openai";
      expect(p.format, p.id).toBe(expected);
    }
  });

  it("have a data policy with a sane retention", () => {
    for (const p of BUILTIN_PROVIDERS) {
      const r = p.data_policy.retention_days;
      expect(r === null || (Number.isInteger(r) && r >= 0), p.id).toBe(true);
      if (p.data_policy.zdr) expect(r, p.id).toBe(0);
    }
  });

  it("include the offline mock with zero retention", () => {
    const mock = BUILTIN_PROVIDERS.find((p) => p.id === "mock");
    expect(mock).toMatchObject({
      name: "Switchyard mock",
      format: "openai",
      default_base_url: "mock://",
      data_policy: { training: false, retention_days: 0, zdr: true },
    });
  });
});

describe("built-in models", () => {
  const providerIds = new Set(BUILTIN_PROVIDERS.map((p) => p.id));

  it("have unique ids", () => {
    const ids = BUILTIN_MODELS.map((m) => m.id);
    const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
    expect(dupes).toEqual([]);
  });

  it("are named provider/model after a provider that exists", () => {
    for (const m of BUILTIN_MODELS) {
      expect(providerIds.has(m.provider), m.id).toBe(true);
      expect(m.id.startsWith(`${m.provider}/`), m.id).toBe(true);
      expect(m.id.length, m.id).toBeGreaterThan(m.provider.length + 1);
      expect(m.upstream_id, m.id).not.toBe("");
      expect(m.name, m.id).not.toBe("");
    }
  });

  it("give every built-in provider but the mock at least two models", () => {
    for (const p of BUILTIN_PROVIDERS) {
      if (p.id === "mock") continue;
      const n = BUILTIN_MODELS.filter((m) => m.provider === p.id).length;
      expect(n, p.id).toBeGreaterThanOrEqual(2);
    }
  });

  it("price in decimal dollars with at most 12 decimal places (whole picodollars)", () => {
    for (const m of BUILTIN_MODELS) {
      for (const [field, price] of priceEntries(m.pricing)) {
        expect(price, `${m.id} ${field}`).toMatch(PRICE);
        expect(decimals(price), `${m.id} ${field}`).toBeLessThanOrEqual(12);
      }
    }
  });

  it("never list internal_reasoning as \"0\" (absent means: same as completion)", () => {
    for (const m of BUILTIN_MODELS) {
      const r = m.pricing.internal_reasoning;
      if (r !== undefined) {
        expect(Number(r), m.id).not.toBe(0);
        expect(r, m.id).not.toBe(m.pricing.completion);
      }
    }
  });

  it("price cache reads below fresh input", () => {
    for (const m of BUILTIN_MODELS) {
      const read = m.pricing.input_cache_read;
      if (read !== undefined) expect(Number(read), m.id).toBeLessThan(Number(m.pricing.prompt));
    }
  });

  it("carry an ISO date for their prices", () => {
    for (const m of BUILTIN_MODELS) {
      expect(m.prices_as_of, m.id).toMatch(ISO_DATE);
      expect(new Date(`${m.prices_as_of}T00:00:00Z`).toISOString().slice(0, 10), m.id).toBe(m.prices_as_of);
    }
  });

  it("have positive whole-number limits, output within the context", () => {
    for (const m of BUILTIN_MODELS) {
      expect(Number.isInteger(m.context_length) && m.context_length > 0, m.id).toBe(true);
      // An embedding model generates no tokens.
      if (m.kind === "embedding") expect(m.max_output, m.id).toBe(0);
      else expect(Number.isInteger(m.max_output) && m.max_output > 0, m.id).toBe(true);
      expect(m.max_output, m.id).toBeLessThanOrEqual(m.context_length);
    }
  });

  it("include mock/echo, priced so that cost arithmetic is exercised", () => {
    const echo = BUILTIN_MODELS.find((m) => m.id === "mock/echo");
    expect(echo).toMatchObject({
      provider: "mock",
      upstream_id: "echo",
      context_length: 131072,
      max_output: 8192,
      pricing: { prompt: "0.000001", completion: "0.000002" },
      capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    });
  });
});
