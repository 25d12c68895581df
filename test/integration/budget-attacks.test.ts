import { describe, expect, it } from "vitest";
import { bucketId } from "../../src/ledger/budget-book";
import { usdToSubunits } from "../../src/ledger/cost";
import { windowOf } from "../../src/ledger/periods";
import { picodollars } from "../support/money";
import { chat, eventually, expectError, generationOf, gw, newTeamKey, uniqueTag, upstreamLog, usageOf, userMsg } from "./helpers";
import { ledgerOf, setPolicy } from "./ledger-helpers";

const HAIKU = "anthropic/claude-haiku-4.5";
const MINI = "openai/gpt-4o-mini";

/** The ledger's own view of a team's daily budget: recorded spend and what open leases still hold. */
async function teamDay(team: string, limitUsd: string): Promise<{ spent: bigint; held: bigint }> {
  const w = windowOf("day", Date.now());
  const spec = { bucket: bucketId("day", w.label, "team", ""), scope: "team" as const, subject: "", period: "day" as const, label: w.label, from_hour: w.from_hour, to_hour: w.to_hour, ends_at: w.ends_at, limit: usdToSubunits(limitUsd) };
  const [st] = await ledgerOf(team).budgetStates([spec]);
  return { spent: st!.spent, held: st!.held };
}

/** An error in the Anthropic shape (the /v1/messages routes): status and the gateway's code. */
async function anthropicError(r: Response, status: number, code: string): Promise<void> {
  const body = await r.json<{ type: string; error: { code: string } }>();
  expect(r.status, JSON.stringify(body)).toBe(status);
  expect(body.error.code).toBe(code);
}

async function settledUsage(key: string, requests: number): Promise<Record<string, any>> {
  return eventually(async () => {
    const u = await usageOf(key);
    return u.totals.requests === requests ? u : null;
  }, 10_000);
}

describe("budgets against hostile requests", () => {
  it("max_tokens 1 with a 63000-token reasoning budget to an Anthropic model is held for what is sent upstream (200 at once)", async () => {
    const k = await newTeamKey();
    const limit = "1.00";
    await setPolicy(k.team, { budgets: [{ scope: "team", period: "day", limit_usd: limit }] });
    const tag = uniqueTag("thinkbomb");
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        chat(k.key, {
          model: HAIKU,
          max_tokens: 1,
          reasoning: { max_tokens: 63_000 },
          stream: i % 2 === 0,
          // The provider uses all it was allowed: 63000 thinking tokens and one of text.
          messages: userMsg(`[[tag=${tag};pt=20;ct=63001;reasoning=63000]] think hard ${i}`),
        }).then(async (r) => ({ status: r.status, text: await r.text() })),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    expect(ok.length + results.filter((r) => r.status === 402).length).toBe(200);
    // Each may cost 63001 × $5/M ≈ $0.315: at most three fit in $1.
    expect(ok.length).toBeGreaterThan(0);
    expect(ok.length).toBeLessThanOrEqual(3);
    const sent = await upstreamLog(tag);
    expect(sent.length).toBe(ok.length);
    for (const s of sent) expect(s.body.max_tokens).toBe(63_001);
    const u = await settledUsage(k.key, ok.length);
    expect(picodollars(u.totals.cost_exact)).toBeLessThanOrEqual(usdToSubunits(limit));
    const st = await teamDay(k.team, limit);
    expect(st.spent + st.held).toBeLessThanOrEqual(usdToSubunits(limit));
  });

  it("a provider that ignores max_tokens cannot take a budget past its limit; the record keeps the true cost, flagged (200 at once)", async () => {
    const k = await newTeamKey();
    const limit = "0.002";
    await setPolicy(k.team, { budgets: [{ scope: "team", period: "day", limit_usd: limit }] });
    const tag = uniqueTag("overrun");
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        chat(k.key, {
          model: MINI,
          max_tokens: 5,
          stream: i % 2 === 0,
          stream_options: { include_usage: true },
          // Reports two million completion tokens ($1.20) for a 5-token cap.
          messages: userMsg(`[[tag=${tag};pt=12;ct=2000000;first_delay=${i % 4}]] go ${i}`),
        }).then(async (r) => ({ stream: i % 2 === 0, status: r.status, id: r.headers.get("x-request-id")!, text: await r.text() })),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    expect(ok.length + results.filter((r) => r.status === 402).length).toBe(200);
    expect(ok.length).toBeGreaterThan(0);
    const u = await settledUsage(k.key, ok.length);
    expect(picodollars(u.totals.cost_exact)).toBeLessThanOrEqual(usdToSubunits(limit));
    const st = await teamDay(k.team, limit);
    expect(st.spent).toBe(picodollars(u.totals.cost_exact));
    expect(st.spent + st.held).toBeLessThanOrEqual(usdToSubunits(limit));
    // The record still says what the provider reported and what that would have cost.
    const g = (await generationOf(k.key, ok[0]!.id))!;
    expect(g.completion_tokens).toBe(2_000_000);
    expect(g.capped).toBe(true);
    expect(picodollars(g.uncapped_cost_exact)).toBe(picodollars("1.2000018"));
    expect(picodollars(g.cost_exact)).toBeLessThan(picodollars(g.uncapped_cost_exact));
    // The client is shown the provider's counts and what was charged, streamed or not.
    for (const stream of [false, true]) {
      const one = ok.find((x) => x.stream === stream);
      if (!one) continue;
      const charged = (await generationOf(k.key, one.id))!;
      const usage = stream
        ? JSON.parse(one.text.split("\n").filter((l) => l.startsWith("data: {") && l.includes('"usage":{')).at(-1)!.slice(6)).usage
        : JSON.parse(one.text).usage;
      expect(usage.completion_tokens, one.text.slice(-400)).toBe(2_000_000);
      expect(usage.cost, one.text.slice(-400)).toBe(Number(charged.cost_exact));
    }
  });

  it("a body that declares tools is held for the tool-use prompt a provider adds; one without is not", async () => {
    const k = await newTeamKey();
    // Without tools the worst case is ~300 bytes × $0.15/M + 10 × $0.60/M ≈ $0.00005; a tool adds 1000
    // prompt tokens ($0.00015) to it.
    await setPolicy(k.team, { budgets: [{ scope: "team", period: "day", limit_usd: "0.0001" }] });
    const tag = uniqueTag("toolprompt");
    const body = (tools: boolean) => ({
      model: MINI,
      max_tokens: 10,
      ...(tools ? { tools: [{ type: "function", function: { name: "f", parameters: { type: "object", properties: {} } } }] } : {}),
      messages: userMsg(`[[tag=${tag};pt=10;ct=1]] x`),
    });
    const refused = await chat(k.key, body(true));
    const text = await refused.text();
    expect(refused.status, text).toBe(402);
    expect(JSON.parse(text).error.code).toBe("insufficient_budget");
    const r = await chat(k.key, body(false));
    expect(r.status, await r.text()).toBe(200);
    expect(await upstreamLog(tag)).toHaveLength(1);
  });
});

describe("estimates when the provider reports no usage", () => {
  it("a cut stream is billed its whole upstream prompt (tools included), estimated by bytes/4", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("toolsprompt");
    const big = "x".repeat(40_000);
    const r = await chat(k.key, {
      model: MINI,
      stream: true,
      tools: [{ type: "function", function: { name: "f", description: big, parameters: { type: "object", properties: {} } } }],
      messages: userMsg(`[[tag=${tag};no_usage=1;cut_after=2]] hi`),
    });
    expect(r.status).toBe(200);
    await r.text();
    const id = r.headers.get("x-request-id")!;
    const g = await eventually(() => generationOf(k.key, id));
    expect(g.status).toBe("cut");
    expect(g.estimated).toBe(true);
    expect(g.estimate_method).toBe("bytes/4");
    const sent = JSON.stringify((await upstreamLog(tag))[0]!.body);
    expect(g.prompt_tokens).toBeGreaterThanOrEqual(Math.floor(sent.length / 4));
  });

  it("a stream without usage is billed the text it carried, not the number of its events", async () => {
    const k = await newTeamKey();
    for (const model of [MINI, HAIKU]) {
      const tag = uniqueTag("bigevent");
      const r = await chat(k.key, { model, stream: true, messages: userMsg(`[[tag=${tag};no_usage=1;reply=abcdefgh;reply_repeat=50000]] hi`) });
      expect(r.status).toBe(200);
      const text = await r.text();
      expect(text.length).toBeGreaterThan(400_000);
      const id = r.headers.get("x-request-id")!;
      const g = await eventually(() => generationOf(k.key, id));
      expect(g.estimated, model).toBe(true);
      expect(g.estimate_method).toBe("bytes/4");
      expect(g.completion_tokens, model).toBeGreaterThanOrEqual(100_000);
    }
  });

  it("an Anthropic-format stream without usage is billed its text too", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("bigevent-a");
    const r = await gw("/v1/messages", {
      method: "POST",
      key: k.key,
      json: { model: HAIKU, max_tokens: 200_000, stream: true, messages: userMsg(`[[tag=${tag};no_usage=1;reply=abcdefgh;reply_repeat=50000]] hi`) },
    });
    expect(r.status).toBe(200);
    await r.text();
    const id = r.headers.get("x-request-id")!;
    const g = await eventually(() => generationOf(k.key, id));
    expect(g.estimated).toBe(true);
    expect(g.completion_tokens).toBeGreaterThanOrEqual(100_000);
  });
});

describe("tokens per minute", () => {
  it("counts the whole upstream prompt (tools included), as billing does", async () => {
    const k = await newTeamKey();
    await setPolicy(k.team, { rate_limits: [{ scope: "key", tpm: 8_000 }] });
    const tag = uniqueTag("tpm-tools");
    const r = await chat(k.key, {
      model: MINI,
      max_tokens: 10,
      tools: [{ type: "function", function: { name: "f", description: "y".repeat(40_000), parameters: { type: "object", properties: {} } } }],
      messages: userMsg(`[[tag=${tag}]] hi`),
    });
    const err = await expectError(r, 429, "rate_limited");
    expect(err.message).toMatch(/exceed key .* limit of 8000 tokens per minute/);
    expect(await upstreamLog(tag)).toHaveLength(0);
  });
});

describe("count_tokens", () => {
  it("calling the provider takes the key's requests per minute, and is refused when a budget is spent", async () => {
    const k = await newTeamKey();
    await setPolicy(k.team, { rate_limits: [{ scope: "key", rpm: 2 }] });
    const tag = uniqueTag("count");
    const count = () => gw("/v1/messages/count_tokens", { method: "POST", key: k.key, json: { model: HAIKU, messages: userMsg(`[[tag=${tag}]] hi`) } });
    expect((await count()).status).toBe(200);
    expect((await count()).status).toBe(200);
    await anthropicError(await count(), 429, "rate_limited");
    expect(await upstreamLog(tag)).toHaveLength(2);

    const spent = await newTeamKey();
    await setPolicy(spent.team, { budgets: [{ scope: "team", period: "day", limit_usd: "0" }] });
    const tag2 = uniqueTag("count-budget");
    const r = await gw("/v1/messages/count_tokens", { method: "POST", key: spent.key, json: { model: HAIKU, messages: userMsg(`[[tag=${tag2}]] hi`) } });
    await anthropicError(r, 402, "insufficient_budget");
    expect(await upstreamLog(tag2)).toHaveLength(0);
  });
});
