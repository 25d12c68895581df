import { describe, expect, it } from "vitest";
import { resolveRoute, splitSuffix } from "../../../src/policy/route";
import { defaultPolicy, PolicyDocument, type PolicyInput } from "../../../src/policy/schema";

const policy = (doc: Omit<PolicyInput, "team">) => PolicyDocument.parse({ team: "t", ...doc });

describe("route: request fields merged under the policy", () => {
  it("suffixes", () => {
    expect(splitSuffix("openai/gpt-4o:nitro")).toEqual(["openai/gpt-4o", "throughput"]);
    expect(splitSuffix("openai/gpt-4o:floor")).toEqual(["openai/gpt-4o", "price"]);
    expect(splitSuffix("x/y:free")).toEqual(["x/y:free", undefined]);
  });

  it("timeouts and retries: the policy's are ceilings; fallbacks off if either says so; data requirements add up", () => {
    const p = policy({ routing: { retries: 1, allow_fallbacks: true, timeouts_ms: { headers: 1000, first_token: 2000 } } });
    const r = resolveRoute(p, null, { models: ["a/b"], provider: { retries: 5, allow_fallbacks: false, timeouts_ms: { headers: 5000, first_token: 500, idle: 700 }, zdr: true } });
    expect(r.retries).toBe(1);
    expect(r.timeouts).toEqual({ headers: 1000, first_token: 500, idle: 700 });
    expect(r.allowFallbacks).toBe(false);
    expect(r.requireZdr).toBe("request");
    expect(resolveRoute(p, null, { models: ["a/b"], provider: { retries: 0 } }).retries).toBe(0);
    expect(resolveRoute(defaultPolicy("t"), null, { models: ["a/b"] }).retries).toBe(2);
  });
});
