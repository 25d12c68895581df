import { describe, expect, it } from "vitest";
import { diffDocuments } from "../../cli/commands/policy-diff";
import { builtinCatalog } from "../../src/catalog";
import { resolveRoute, splitSuffix } from "../../src/policy/route";
import { defaultPolicy, PolicyDocument, type PolicyInput } from "../../src/policy/schema";
import { applyReport, circuitConfig, DEFAULT_CIRCUIT, newRecord, viewOf, type HealthView } from "../../src/routing/circuit";
import { effectiveTimeouts } from "../../src/routing/attempts";
import { upstreamTimeouts } from "../../src/core/time-limits";
import type { Env } from "../../src/env";
import { emptyPlanError, planAttempts } from "../../src/routing/plan";
import { classifyFailure, decide, MIN_SPACING_MS, retryDelay, RETRY_AFTER_CAP_MS } from "../../src/routing/retry";
import { AttemptError } from "../../src/core/errors";

const available = () => null;
const policy = (doc: Omit<PolicyInput, "team">) => PolicyDocument.parse({ team: "t", ...doc });
function plan(models: string[], doc: Omit<PolicyInput, "team"> = {}, extra: { provider?: Record<string, unknown>; health?: Record<string, Partial<HealthView>>; random?: number; key?: string } = {}) {
  const route = resolveRoute(policy(doc), extra.key ?? null, { models, provider: extra.provider });
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
const ids = (p: ReturnType<typeof plan>) => p.attempts.map((a) => a.model.id);

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

describe("planner", () => {
  it("expands a model hosted by several providers into its endpoints, ordered by provider.order", () => {
    expect(ids(plan(["openai/gpt-oss-120b"]))).toEqual(["groq/openai/gpt-oss-120b", "together/openai/gpt-oss-120b"]);
    expect(ids(plan(["openai/gpt-oss-120b"], {}, { provider: { order: ["Together AI"] } }))).toEqual(["together/openai/gpt-oss-120b", "groq/openai/gpt-oss-120b"]);
    expect(ids(plan(["openai/gpt-oss-120b"], {}, { provider: { allow_fallbacks: false } }))).toEqual(["groq/openai/gpt-oss-120b"]);
  });

  it("weighted aliases: the first is drawn by weight, the rest follow by weight", () => {
    const doc = { aliases: { w: [{ model: "openai/gpt-4o-mini", weight: 1 }, { model: "groq/llama-3.1-8b-instant", weight: 3 }, { model: "mock/echo", weight: 2 }] } };
    expect(ids(plan(["w"], doc, { random: 0.1 }))).toEqual(["openai/gpt-4o-mini", "groq/llama-3.1-8b-instant", "mock/echo"]);
    expect(ids(plan(["w"], doc, { random: 0.5 }))).toEqual(["groq/llama-3.1-8b-instant", "mock/echo", "openai/gpt-4o-mini"]);
    expect(ids(plan(["w"], doc, { random: 0.95 }))).toEqual(["mock/echo", "groq/llama-3.1-8b-instant", "openai/gpt-4o-mini"]);
  });

  it("sort by latency or throughput uses the moving averages, unmeasured last; :nitro sorts by throughput", () => {
    const doc = { aliases: { a: ["openai/gpt-4o-mini", "groq/llama-3.1-8b-instant", "mock/echo"] } };
    const health = { "openai/gpt-4o-mini": { latencyMs: 900, throughput: 40 }, "groq/llama-3.1-8b-instant": { latencyMs: 150, throughput: 600 } };
    expect(ids(plan(["a"], { ...doc, routing: { sort: "latency" } }, { health }))).toEqual(["groq/llama-3.1-8b-instant", "openai/gpt-4o-mini", "mock/echo"]);
    expect(ids(plan(["a:nitro"], doc, { health }))).toEqual(["groq/llama-3.1-8b-instant", "openai/gpt-4o-mini", "mock/echo"]);
    expect(ids(plan(["a:floor"], doc, { health }))).toEqual(["groq/llama-3.1-8b-instant", "openai/gpt-4o-mini", "mock/echo"]);
  });

  it("leaves out open circuits and a half-open one whose probe is in flight; 503 with Retry-After when that is all", () => {
    const p = plan(["openai/gpt-4o-mini", "groq/llama-3.1-8b-instant"], {}, {
      health: { "openai/gpt-4o-mini": { circuit: "open", retryAt: 1_002_500 }, "groq/llama-3.1-8b-instant": { circuit: "probing" } },
    });
    expect(p.attempts).toEqual([]);
    expect(p.excluded.map((e) => e.reason)).toEqual(["circuit open after repeated failures (next probe in 3 s)", "circuit half-open, a probe is in flight"]);
    const err = emptyPlanError(p, 1_000_000);
    expect(err.status).toBe(503);
    expect(err.headers["retry-after"]).toBe("1"); // the probe in flight may close it any moment
    const open = plan(["openai/gpt-4o-mini"], {}, { health: { "openai/gpt-4o-mini": { circuit: "open", retryAt: 1_002_500 } } });
    expect(emptyPlanError(open, 1_000_000).headers["retry-after"]).toBe("3");
    const half = plan(["openai/gpt-4o-mini"], {}, { health: { "openai/gpt-4o-mini": { circuit: "half_open" } } });
    expect(ids(half)).toEqual(["openai/gpt-4o-mini"]);
  });

  it("a request's max_price is in dollars per million tokens, as OpenRouter's", () => {
    const p = plan(["openai/gpt-4o-mini", "openai/gpt-4o"], {}, { provider: { max_price: { prompt: 1, completion: "5" } } });
    expect(ids(p)).toEqual(["openai/gpt-4o-mini"]);
    expect(p.excluded[0]).toEqual({ model: "openai/gpt-4o", provider: "openai", reason: "over max_price (prompt $2.5/M > $1/M)", by: "request" });
  });
});

describe("circuit breaker transitions", () => {
  const cfg = { ...DEFAULT_CIRCUIT, failures: 3, openMs: 1000 };
  const fail = (at: number, probe = false) => ({ key: "k", at, ok: false, probe });
  it("opens after consecutive failures within the window, half-opens, closes on a probe's success", () => {
    const r = newRecord(0);
    applyReport(r, fail(0), cfg);
    applyReport(r, { key: "k", at: 1, ok: true, probe: false, latencyMs: 100 }, cfg);
    applyReport(r, fail(2), cfg);
    applyReport(r, fail(3), cfg);
    expect(r.state).toBe("closed");
    expect(applyReport(r, fail(4), cfg)).toBe(true);
    expect(viewOf(r, 500, false)).toMatchObject({ circuit: "open", retryAt: 1004 });
    expect(viewOf(r, 1004, false).circuit).toBe("half_open");
    expect(viewOf(r, 1004, true).circuit).toBe("probing");
    applyReport(r, { key: "k", at: 1005, ok: true, probe: false }, cfg); // a straggler, not the probe
    expect(r.state).toBe("open");
    applyReport(r, fail(1010, true), cfg);
    expect(r.openUntil).toBe(1010 + 2000);
    applyReport(r, { key: "k", at: 3100, ok: true, probe: true }, cfg);
    expect(r).toMatchObject({ state: "closed", failures: 0, reopens: 0, latencyMs: 100 });
  });

  it("defaults: the first open period is 5 s, doubling on failed probes up to 5 minutes; a flapping primary is back within 15 s", () => {
    const d = circuitConfig({});
    expect(d).toMatchObject({ failures: 5, openMs: 5_000, maxOpenMs: 300_000 });
    const r = newRecord(0);
    for (let i = 0; i < d.failures; i++) applyReport(r, fail(i * 100), d);
    const opened = 400;
    expect(viewOf(r, opened + d.openMs - 1, false).circuit).toBe("open");
    // Still down at the first probe; it recovers a moment later: the next probe goes within 15 s of that.
    applyReport(r, fail(opened + d.openMs, true), d);
    const recovered = opened + d.openMs + 1;
    expect(viewOf(r, recovered + 15_000, false).circuit).toBe("half_open");
    applyReport(r, { key: "k", at: recovered + 15_000, ok: true, probe: true }, d);
    expect(r.state).toBe("closed");
    // A primary that stays down is probed less and less often, never less than every 5 minutes.
    for (let i = 0; i < d.failures; i++) applyReport(r, fail(100_000 + i), d);
    let at = 100_000;
    for (let n = 0; n < 12; n++) {
      at = r.openUntil;
      applyReport(r, fail(at, true), d);
    }
    expect(r.openUntil - at).toBe(300_000);
    // The test environment's shorter open period scales the cap with it.
    expect(circuitConfig({ CIRCUIT_OPEN_MS: "400" })).toMatchObject({ openMs: 400, maxOpenMs: 24_000 });
  });

  it("failures further apart than the window do not add up", () => {
    const r = newRecord(0);
    for (const at of [0, 70_000, 140_000]) applyReport(r, fail(at), cfg);
    expect(r.state).toBe("closed");
  });
});

describe("time limits", () => {
  const model = (reasoning: boolean) => ({ capabilities: { reasoning } }) as any;
  it("defaults fit interactive use: first token 15 s (120 s for models that reason first), idle 20 s", () => {
    const d = upstreamTimeouts({} as Env);
    expect(effectiveTimeouts({}, {}, model(false), d)).toEqual({ headers: 15_000, first_token: 15_000, idle: 20_000, total: 300_000 });
    expect(effectiveTimeouts({}, {}, model(true), d).first_token).toBe(120_000);
  });

  it("a policy may raise them; a request may only lower them", () => {
    const d = upstreamTimeouts({} as Env);
    const policy = { first_token: 40_000, idle: 60_000 };
    expect(effectiveTimeouts(policy, policy, model(false), d)).toMatchObject({ first_token: 40_000, idle: 60_000 });
    // The request asked for more than the gateway's own limits (no policy): it gets the gateway's.
    expect(effectiveTimeouts({ first_token: 50_000, idle: 5_000 }, {}, model(false), d)).toMatchObject({ first_token: 15_000, idle: 5_000 });
  });
});

describe("retry decisions", () => {
  it("backoff: jittered exponential, never under the minimum spacing; Retry-After honoured up to the cap", () => {
    expect(retryDelay(1, undefined, () => 0)).toBe(MIN_SPACING_MS);
    expect(retryDelay(1, undefined, () => 1)).toBe(400);
    expect(retryDelay(2, undefined, () => 0)).toBe(400);
    expect(retryDelay(2, undefined, () => 1)).toBe(800);
    expect(retryDelay(10, undefined, () => 1)).toBe(4000);
    expect(retryDelay(1, 1000)).toBe(1000);
    expect(retryDelay(1, 0)).toBe(MIN_SPACING_MS);
    expect(retryDelay(1, RETRY_AFTER_CAP_MS + 1)).toBeNull();
  });

  it("classifies what no retry can fix", () => {
    expect(classifyFailure(400, "context_length_exceeded", "x")).toBe("context_length");
    expect(classifyFailure(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum")).toBe("context_length");
    expect(classifyFailure(400, undefined, "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).")).toBe("context_length");
    expect(classifyFailure(400, "content_policy_violation", "rejected")).toBe("content_policy");
    expect(classifyFailure(400, "content_filter", "The response was filtered")).toBe("content_policy");
    expect(classifyFailure(400, "invalid_request_error", "temperature must be at most 2")).toBeNull();
    expect(classifyFailure(503, undefined, "context length")).toBeNull();
    const http = (s: number) => new AttemptError(s, "", "http");
    expect([408, 429, 500, 502, 503, 504, 529].map((s) => decide(http(s), null))).toEqual(Array(7).fill("retry"));
    expect([401, 403, 404].map((s) => decide(http(s), null))).toEqual(["next", "next", "next"]);
    expect(decide(http(400), null)).toBe("stop");
    expect(decide(http(400), "context_length")).toBe("next");
    expect(decide(http(400), "content_policy")).toBe("stop");
    expect(decide(new AttemptError(0, "", "timeout"), null)).toBe("next");
    expect(decide(new AttemptError(0, "", "unreachable"), null)).toBe("retry");
  });
});

describe("policy diff", () => {
  it("one line per changed path", () => {
    expect(diffDocuments({ a: 1, b: { c: [1], d: "x" } }, { a: 1, b: { c: [1, 2] }, e: true })).toEqual([
      "~ b.c: [1] → [1,2]",
      '- b.d: "x"',
      "+ e: true",
    ]);
  });
});

describe("policy schema: money", () => {
  it("a budget's limit_usd may be written as a number or a decimal string; either way it is exact", async () => {
    const { validatePolicy } = await import("../../src/policy/schema");
    const ok = (limit: unknown) => {
      const r = validatePolicy({ team: "t", budgets: [{ scope: "team", period: "day", limit_usd: limit }] });
      if (!r.ok) throw new Error(r.errors.join("; "));
      return r.policy.budgets[0]!.limit_usd;
    };
    expect([ok(5), ok("5.00"), ok(0.1), ok(12.345678901234)]).toEqual(["5", "5.00", "0.1", "12.345678901234"]);
    const bad = validatePolicy({ team: "t", budgets: [{ scope: "team", period: "day", limit_usd: -1 }] });
    expect(bad.ok).toBe(false);
    const tooFine = validatePolicy({ team: "t", budgets: [{ scope: "team", period: "day", limit_usd: "0.0000000000001" }] });
    expect(tooFine.ok ? [] : tooFine.errors).toEqual([expect.stringMatching(/^budgets\.0\.limit_usd: /)]);
  });
});
