import { describe, expect, it } from "vitest";
import { builtinCatalog, suggestModels } from "../../src/catalog";
import { describeEmptyPlan, planAttempts } from "../../src/routing/plan";

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
