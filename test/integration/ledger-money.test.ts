import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ModelPricing } from "../../src/catalog/types";
import { costOf } from "../../src/ledger/cost";
import { USAGE_GROUPS, type UsageEvent, type UsageGroup, type UsageStatus } from "../../src/ledger/event";
import { dollars, picodollars } from "../support/money";
import { uniqueTag } from "./helpers";
import { adminGet, ledgerOf, prng, seedFor, type Prng } from "./ledger-helpers";

/**
 * Property: for thousands of random events at random catalog prices, the sum of event costs = the rollups =
 * what /v1/usage reports for every grouping, to the last picodollar, and every event's cost recomputes from
 * its tokens and its model's prices.
 */

/** A random price in dollars per token as the catalog writes it: a decimal string, at most 12 places. */
function price(r: Prng, maxPico: number): string {
  const pico = BigInt(r.int(0, maxPico));
  return dollars(pico).replace(/0+$/, "").replace(/\.$/, ".0");
}

function randomPricing(r: Prng, maxPico: number): ModelPricing {
  const p: ModelPricing = { prompt: price(r, maxPico), completion: price(r, maxPico) };
  if (r.chance(0.5)) p.input_cache_read = price(r, maxPico);
  if (r.chance(0.3)) p.input_cache_write = price(r, maxPico);
  if (r.chance(0.3)) p.internal_reasoning = price(r, maxPico);
  if (r.chance(0.2)) p.request = price(r, maxPico * 100);
  return p;
}

/** The cost formula of DESIGN.md, written out again over decimal strings (not src/ledger/cost.ts). */
function expected(p: ModelPricing, e: Pick<UsageEvent, "prompt_tokens" | "completion_tokens" | "cached_tokens" | "cache_write_tokens" | "reasoning_tokens">): bigint {
  const P = picodollars(p.prompt);
  const C = picodollars(p.completion);
  const or = (v: string | undefined, d: bigint) => (v === undefined ? d : picodollars(v));
  return (
    BigInt(e.prompt_tokens - e.cached_tokens - e.cache_write_tokens) * P +
    BigInt(e.cached_tokens) * or(p.input_cache_read, P) +
    BigInt(e.cache_write_tokens) * or(p.input_cache_write, P) +
    BigInt(e.completion_tokens - e.reasoning_tokens) * C +
    BigInt(e.reasoning_tokens) * or(p.internal_reasoning, C) +
    or(p.request, 0n)
  );
}

const STATUSES: UsageStatus[] = ["ok", "ok", "ok", "ok", "cut", "cancelled", "error"];

function allGroupings(): UsageGroup[][] {
  const out: UsageGroup[][] = [];
  for (let mask = 1; mask < 1 << USAGE_GROUPS.length; mask++) out.push(USAGE_GROUPS.filter((_, i) => mask & (1 << i)));
  return out;
}

describe("exact money (property)", () => {
  it("events = rollups = /v1/usage for every grouping, and every cost recomputes from tokens and prices", async () => {
    const seed = seedFor();
    const r = prng(seed);
    const team = `money-${uniqueTag("p")}`.toLowerCase();
    const models = new Map<string, ModelPricing>();
    for (let i = 0; i < 8; i++) models.set(`prov${i % 3}/model-${i}`, randomPricing(r, 5_000_000)); // ≤ $5 per million tokens
    for (let i = 0; i < 2; i++) models.set(`whale/model-${i}`, randomPricing(r, 40_000_000_000)); // ≤ $0.04 per token
    const ids = [...models.keys()];
    const now = Date.now();
    const events: UsageEvent[] = [];
    for (let i = 0; i < 3000; i++) {
      const model = r.pick(ids);
      const prompt = r.int(0, 200_000);
      const cached = r.chance(0.3) ? r.int(0, prompt) : 0;
      const cw = r.chance(0.2) ? r.int(0, prompt - cached) : 0;
      const completion = r.int(0, 50_000);
      const reasoning = r.chance(0.3) ? r.int(0, completion) : 0;
      const status = r.pick(STATUSES);
      const tokens = { prompt_tokens: prompt, completion_tokens: completion, cached_tokens: cached, cache_write_tokens: cw, reasoning_tokens: reasoning };
      const cost = costOf(tokens, models.get(model)!);
      expect(cost, `seed ${seed}: ${model} ${JSON.stringify(tokens)}`).toBe(expected(models.get(model)!, tokens));
      events.push({
        id: `gen-prop-${seed}-${i}`, team, key_id: `k_${r.int(1, 3)}`, user: r.chance(0.2) ? null : `user-${r.int(1, 4)}`,
        model_requested: model, model, provider: model.split("/")[0]!, status, streamed: r.chance(0.5), cancelled: status === "cancelled",
        estimated: false, ...tokens, cost: Number(cost), ttfb_ms: r.int(1, 500), latency_ms: r.int(1, 5000),
        created_at: now - r.int(0, 3 * 86_400_000), attempts: [{ provider: model.split("/")[0]!, model, status: status === "error" ? 502 : 200, ok: status !== "error", latency_ms: 1 }],
      });
    }
    // Batches of 50 as the batcher sends them, some sent twice (a retried flush).
    const stub = ledgerOf(team);
    for (let i = 0; i < events.length; i += 50) {
      const batch = events.slice(i, i + 50);
      await stub.record(batch);
      if (r.chance(0.2)) expect((await stub.record(batch)).inserted).toBe(0);
    }

    const answered = events.filter((e) => e.status !== "error");
    const sum = (xs: UsageEvent[]) => xs.reduce((s, e) => s + BigInt(e.cost), 0n);
    const total = sum(answered);
    expect(total > BigInt(Number.MAX_SAFE_INTEGER), `seed ${seed}: the total should pass 2^53 to prove exact sums`).toBe(true);

    // 1. The rollups hold exactly the sum of the events.
    const rolled = await runInDurableObject(stub, (_, state) => ({
      cost: state.storage.sql.exec(`SELECT CAST(SUM(cost) AS TEXT) AS s FROM rollups`).one().s as string,
      events: state.storage.sql.exec(`SELECT CAST(SUM(cost) AS TEXT) AS s FROM events`).one().s as string,
    }));
    expect(BigInt(rolled.cost)).toBe(total);
    expect(BigInt(rolled.events)).toBe(total);

    // 2. Every exported record (paged through the cursor) recomputes from its tokens and its model's prices.
    const exported: Record<string, any>[] = [];
    let cursor = 0;
    for (;;) {
      const res = await adminGet(`/v1/usage/export?team=${team}&cursor=${cursor}&limit=700`);
      expect(res.status).toBe(200);
      const lines = (await res.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l));
      if (lines.length === 0) break;
      exported.push(...lines);
      cursor = lines.at(-1).seq;
    }
    expect(exported).toHaveLength(events.length);
    for (const x of exported) {
      const want = x.status === "error" ? 0n : expected(models.get(x.model)!, x as UsageEvent);
      expect(picodollars(x.cost_exact), `seed ${seed}: ${x.id}`).toBe(want);
    }
    expect(exported.reduce((s, x) => s + picodollars(x.cost_exact), 0n)).toBe(total);

    // 3. /v1/usage: totals and every grouping of day, hour, model, provider, key, user.
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const q = `team=${team}&from=${day(now - 4 * 86_400_000)}&to=${day(now)}`;
    const keyOf: Record<UsageGroup, (e: UsageEvent) => string> = {
      day: (e) => day(e.created_at),
      hour: (e) => new Date(e.created_at).toISOString().slice(0, 13),
      model: (e) => e.model,
      provider: (e) => e.provider,
      key: (e) => e.key_id,
      user: (e) => String(e.user),
    };
    for (const groups of allGroupings()) {
      const res = await adminGet(`/v1/usage?${q}&group_by=${groups.join(",")}`);
      const u = await res.json<any>();
      expect(picodollars(u.totals.cost_exact), `seed ${seed}`).toBe(total);
      expect(u.totals.requests).toBe(answered.length);
      expect(u.totals.prompt_tokens).toBe(answered.reduce((s, e) => s + e.prompt_tokens, 0));
      expect(u.totals.reasoning_tokens).toBe(answered.reduce((s, e) => s + e.reasoning_tokens, 0));
      const want = new Map<string, bigint>();
      for (const e of answered) {
        const k = groups.map((g) => keyOf[g](e)).join("|");
        want.set(k, (want.get(k) ?? 0n) + BigInt(e.cost));
      }
      expect(u.groups.length, `seed ${seed}: ${groups}`).toBe(want.size);
      let groupSum = 0n;
      for (const g of u.groups) {
        const k = groups.map((name) => String(g[name])).join("|");
        expect(picodollars(g.cost_exact), `seed ${seed}: ${groups} ${k}`).toBe(want.get(k));
        groupSum += picodollars(g.cost_exact);
      }
      expect(groupSum).toBe(total);
    }

    // 4. Filters select exactly their events.
    const res = await adminGet(`/v1/usage?${q}&key_id=k_2&model=${encodeURIComponent(ids[0]!)}`);
    const filtered = answered.filter((e) => e.key_id === "k_2" && e.model === ids[0]);
    expect(picodollars((await res.json<any>()).totals.cost_exact)).toBe(sum(filtered));
  });
});
