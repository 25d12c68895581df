import { describe, expect, it } from "vitest";
import { builtinCatalog, suggestModels } from "../../../src/catalog";
import { resolveRoute } from "../../../src/policy/route";
import { PolicyDocument, type PolicyInput } from "../../../src/policy/schema";
import type { HealthView } from "../../../src/routing/circuit";
import { describeEmptyPlan, emptyPlanError, planAttempts } from "../../../src/routing/plan";

const available = () => null;
const ids = (p: ReturnType<typeof planAttempts>) => p.attempts.map((a) => `${a.provider.id}:${a.model.id}`);

describe("planAttempts", () => {
  it("plans the requested model, then its fallbacks, each once", () => {
    const plan = planAttempts({
      models: ["openai/gpt-4o-mini", "mock/echo", "openai/gpt-4o-mini"],
      catalog: builtinCatalog,
      providerUnavailable: available,
    });
    expect(ids(plan)).toEqual(["openai:openai/gpt-4o-mini", "mock:mock/echo"]);
    expect(plan.attempts[0]!.model.upstream_id).toBe("gpt-4o-mini");
    expect(plan.excluded).toEqual([]);
    expect(plan.unknown).toEqual([]);
  });

  it("answers an unknown model with the closest catalog ids", () => {
    const plan = planAttempts({ models: ["openai/gpt-4o-mnii"], catalog: builtinCatalog, providerUnavailable: available });
    expect(plan.attempts).toEqual([]);
    expect(plan.unknown).toHaveLength(1);
    expect(plan.unknown[0]!.model).toBe("openai/gpt-4o-mnii");
    expect(plan.unknown[0]!.suggestions[0]).toBe("openai/gpt-4o-mini");
    expect(plan.unknown[0]!.suggestions).toHaveLength(3);
    const { code, message } = describeEmptyPlan(plan);
    expect(code).toBe("model_not_found");
    expect(message).toBe(`model openai/gpt-4o-mnii is not in the catalog; did you mean ${plan.unknown[0]!.suggestions.join(", ")}?`);
  });

  it("suggests by the model part when the provider prefix is missing or wrong", () => {
    expect(suggestModels(builtinCatalog, "gpt-4o-mini")[0]).toBe("openai/gpt-4o-mini");
    expect(suggestModels(builtinCatalog, "mock/ecoh")[0]).toBe("mock/echo");
    expect(suggestModels(builtinCatalog, "x", 2)).toHaveLength(2);
  });

  it("excludes a provider that cannot take traffic, saying why", () => {
    const plan = planAttempts({
      models: ["mock/echo", "openai/gpt-4o-mini"],
      catalog: builtinCatalog,
      providerUnavailable: (p) => (p.id === "mock" ? "the mock provider is off (MOCK_PROVIDER)" : null),
    });
    expect(ids(plan)).toEqual(["openai:openai/gpt-4o-mini"]);
    expect(plan.excluded).toEqual([{ model: "mock/echo", provider: "mock", reason: "the mock provider is off (MOCK_PROVIDER)" }]);
  });

  it("reports no_route with every reason when nothing can serve", () => {
    const plan = planAttempts({
      models: ["mock/echo", "nope/nothing"],
      catalog: builtinCatalog,
      providerUnavailable: () => "down",
    });
    expect(describeEmptyPlan(plan)).toEqual({
      code: "no_route",
      message: "no provider can serve this request (nope/nothing: not in the catalog; mock/echo via mock: down)",
    });
  });
});

/** A plan under a team policy and a request's routing fields. */
function routedPlan(
  models: string[],
  doc: Omit<PolicyInput, "team"> = {},
  extra: { provider?: Record<string, unknown>; health?: Record<string, Partial<HealthView>>; random?: number; key?: string } = {},
) {
  const route = resolveRoute(PolicyDocument.parse({ team: "t", ...doc }), extra.key ?? null, { models, provider: extra.provider });
  const h = extra.health ?? {};
  return planAttempts({
    models,
    catalog: builtinCatalog,
    providerUnavailable: available,
    route,
    health: (p, m) => (h[m] ? { circuit: "closed", latencyMs: null, throughput: null, ...h[m] } : undefined),
    random: () => extra.random ?? 0,
    now: 1_000_000,
  });
}
const modelIds = (p: ReturnType<typeof routedPlan>) => p.attempts.map((a) => a.model.id);

describe("planner", () => {
  it("expands a model hosted by several providers into its endpoints, ordered by provider.order", () => {
    expect(modelIds(routedPlan(["openai/gpt-oss-120b"]))).toEqual(["groq/openai/gpt-oss-120b", "together/openai/gpt-oss-120b"]);
    expect(modelIds(routedPlan(["openai/gpt-oss-120b"], {}, { provider: { order: ["Together AI"] } }))).toEqual(["together/openai/gpt-oss-120b", "groq/openai/gpt-oss-120b"]);
    expect(modelIds(routedPlan(["openai/gpt-oss-120b"], {}, { provider: { allow_fallbacks: false } }))).toEqual(["groq/openai/gpt-oss-120b"]);
  });

  it("weighted aliases: the first is drawn by weight, the rest follow by weight", () => {
    const doc = { aliases: { w: [{ model: "openai/gpt-4o-mini", weight: 1 }, { model: "groq/llama-3.1-8b-instant", weight: 3 }, { model: "mock/echo", weight: 2 }] } };
    expect(modelIds(routedPlan(["w"], doc, { random: 0.1 }))).toEqual(["openai/gpt-4o-mini", "groq/llama-3.1-8b-instant", "mock/echo"]);
    expect(modelIds(routedPlan(["w"], doc, { random: 0.5 }))).toEqual(["groq/llama-3.1-8b-instant", "mock/echo", "openai/gpt-4o-mini"]);
    expect(modelIds(routedPlan(["w"], doc, { random: 0.95 }))).toEqual(["mock/echo", "groq/llama-3.1-8b-instant", "openai/gpt-4o-mini"]);
  });

  it("sort by latency or throughput uses the moving averages, unmeasured last; :nitro sorts by throughput", () => {
    const doc = { aliases: { a: ["openai/gpt-4o-mini", "groq/llama-3.1-8b-instant", "mock/echo"] } };
    const health = { "openai/gpt-4o-mini": { latencyMs: 900, throughput: 40 }, "groq/llama-3.1-8b-instant": { latencyMs: 150, throughput: 600 } };
    expect(modelIds(routedPlan(["a"], { ...doc, routing: { sort: "latency" } }, { health }))).toEqual(["groq/llama-3.1-8b-instant", "openai/gpt-4o-mini", "mock/echo"]);
    expect(modelIds(routedPlan(["a:nitro"], doc, { health }))).toEqual(["groq/llama-3.1-8b-instant", "openai/gpt-4o-mini", "mock/echo"]);
    expect(modelIds(routedPlan(["a:floor"], doc, { health }))).toEqual(["groq/llama-3.1-8b-instant", "openai/gpt-4o-mini", "mock/echo"]);
  });

  it("leaves out open circuits and a half-open one whose probe is in flight; 503 with Retry-After when that is all", () => {
    const p = routedPlan(["openai/gpt-4o-mini", "groq/llama-3.1-8b-instant"], {}, {
      health: { "openai/gpt-4o-mini": { circuit: "open", retryAt: 1_002_500 }, "groq/llama-3.1-8b-instant": { circuit: "probing" } },
    });
    expect(p.attempts).toEqual([]);
    expect(p.excluded.map((e) => e.reason)).toEqual(["circuit open after repeated failures (next probe in 3 s)", "circuit half-open, a probe is in flight"]);
    const err = emptyPlanError(p, 1_000_000);
    expect(err.status).toBe(503);
    expect(err.headers["retry-after"]).toBe("1"); // the probe in flight may close it any moment
    const open = routedPlan(["openai/gpt-4o-mini"], {}, { health: { "openai/gpt-4o-mini": { circuit: "open", retryAt: 1_002_500 } } });
    expect(emptyPlanError(open, 1_000_000).headers["retry-after"]).toBe("3");
    const half = routedPlan(["openai/gpt-4o-mini"], {}, { health: { "openai/gpt-4o-mini": { circuit: "half_open" } } });
    expect(modelIds(half)).toEqual(["openai/gpt-4o-mini"]);
  });

  it("a request's max_price is in dollars per million tokens, as OpenRouter's", () => {
    const p = routedPlan(["openai/gpt-4o-mini", "openai/gpt-4o"], {}, { provider: { max_price: { prompt: 1, completion: "5" } } });
    expect(modelIds(p)).toEqual(["openai/gpt-4o-mini"]);
    expect(p.excluded[0]).toEqual({ model: "openai/gpt-4o", provider: "openai", reason: "over max_price (prompt $2.5/M > $1/M)", by: "request" });
  });
});
