import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Allowances, RefusedError, type Hold } from "../../src/ledger/allowances";
import { bucketId, type BudgetSpec } from "../../src/ledger/budget-book";
import { usdToSubunits } from "../../src/ledger/cost";
import type { UsageEvent } from "../../src/ledger/event";
import { windowOf, type Period } from "../../src/ledger/periods";
import { allowancesFor } from "../../src/http/request-hold";
import { picodollars } from "../support/money";
import { chat, eventually, gw, newTeamKey, uniqueTag, usageOf, userMsg } from "./helpers";
import { ledgerOf, prng, seedFor, setPolicy } from "./ledger-helpers";

const MINI = "openai/gpt-4o-mini";

function teamSpec(limitUsd: string, period: Period = "day"): BudgetSpec {
  const w = windowOf(period, Date.now());
  return { bucket: bucketId(period, w.label, "team", ""), scope: "team", subject: "", period, label: w.label, from_hour: w.from_hour, to_hour: w.to_hour, ends_at: w.ends_at, limit: usdToSubunits(limitUsd) };
}

/** An isolate of its own: separate slices, the same team Ledger. */
function isolate() {
  return new Allowances((team, req) => ledgerOf(team).allowances(req));
}

function eventFor(team: string, id: string, cost: bigint, leases: string[]): UsageEvent {
  return {
    id, team, key_id: "k_sim", user: null, model_requested: MINI, model: MINI, provider: "openai", status: "ok",
    streamed: false, cancelled: false, estimated: false, prompt_tokens: 1, completion_tokens: 1, cached_tokens: 0,
    cache_write_tokens: 0, reasoning_tokens: 0, cost: Number(cost), ttfb_ms: 1, latency_ms: 1, created_at: Date.now(), attempts: [], leases,
  };
}

describe("budget leases", () => {
  it("isolates sharing one budget spend within it, and the ledger's count is exact to the picodollar", async () => {
    const seed = seedFor();
    const rnd = prng(seed);
    const team = `lease-${uniqueTag("x")}`;
    const spec = teamSpec("0.01");
    const isolates = [isolate(), isolate(), isolate(), isolate()];
    const settled: { cost: bigint; leases: string[]; id: string }[] = [];
    let refusedCount = 0;
    await Promise.all(
      isolates.flatMap((iso, n) =>
        Array.from({ length: 100 }, async (_, i) => {
          const worst = BigInt(rnd.int(10_000_000, 400_000_000)); // $0.00001 .. $0.0004
          let hold: Hold;
          try {
            hold = await iso.reserve(team, [spec], worst, []);
          } catch (err) {
            expect(err).toBeInstanceOf(RefusedError);
            const r = (err as RefusedError).refusal;
            if (r.kind === "budget") expect(r.state.available).toBeLessThan(worst);
            refusedCount++;
            return;
          }
          await new Promise((r) => setTimeout(r, rnd.int(0, 5)));
          const cost = rnd.chance(0.1) ? 0n : (worst * BigInt(rnd.int(0, 100))) / 100n;
          settled.push({ cost, leases: hold.leases, id: `sim-${n}-${i}-${seed}` });
          await hold.settle(cost, 0);
        }),
      ),
    );
    await Promise.all(isolates.map((iso) => iso.releaseAll()));
    const total = settled.reduce((s, x) => s + x.cost, 0n);
    expect(total, `seed ${seed}`).toBeLessThanOrEqual(spec.limit);
    expect(refusedCount).toBeGreaterThan(0);
    // Every lease returned: what they hold is the settled spend whose records have not arrived yet.
    let [st] = await ledgerOf(team).budgetStates([spec]);
    expect(st!.spent).toBe(0n);
    expect(st!.held, `seed ${seed}`).toBe(total);
    // The records arrive (through the batcher in the gateway): spend moves from held to spent, exactly.
    await ledgerOf(team).record(settled.map((x) => eventFor(team, x.id, x.cost, x.leases)));
    [st] = await ledgerOf(team).budgetStates([spec]);
    expect(st!.held).toBe(0n);
    expect(st!.spent).toBe(total);
    expect(st!.available).toBe(spec.limit - total);
  });

  it("an isolate that vanishes holds its slice only until the lease expires; its late records still count", async () => {
    const team = `lease-${uniqueTag("gone")}`;
    const spec = teamSpec("1.00");
    const gone = isolate();
    const hold = await gone.reserve(team, [spec], 5_000_000n, []);
    let [st] = await ledgerOf(team).budgetStates([spec]);
    const slice = st!.held;
    expect(slice).toBeGreaterThanOrEqual(5_000_000n);
    // The isolate is evicted mid-request; time passes beyond the lease's expiry.
    await runInDurableObject(ledgerOf(team), (_, state) => {
      state.storage.sql.exec(`UPDATE leases SET expires_at = ?`, Date.now() - 1);
    });
    [st] = await ledgerOf(team).budgetStates([spec]);
    expect(st!.held).toBe(0n);
    // Its request's record still arrives (the batch was already on its way) and counts as spend.
    await ledgerOf(team).record([eventFor(team, `late-${team}`, 3_000_000n, hold.leases)]);
    expect(await runDurableObjectAlarm(ledgerOf(team))).toBe(true);
    [st] = await ledgerOf(team).budgetStates([spec]);
    expect(st).toMatchObject({ spent: 3_000_000n, held: 0n, available: spec.limit - 3_000_000n });
    const left = await runInDurableObject(ledgerOf(team), (_, state) => state.storage.sql.exec(`SELECT COUNT(*) AS n FROM leases`).one().n);
    expect(left).toBe(0);
  });

  it("in the common case a request takes no Ledger round trip", async () => {
    const k = await newTeamKey();
    await setPolicy(k.team, { budgets: [{ scope: "team", period: "month", limit_usd: "100" }, { scope: "key", period: "day", limit_usd: "50" }] });
    const tag = uniqueTag("common");
    const before = { ...allowancesFor(env).stats };
    const n = 300;
    for (let i = 0; i < n; i += 30) {
      const rs = await Promise.all(
        Array.from({ length: 30 }, () => chat(k.key, { model: MINI, max_tokens: 100, messages: userMsg(`[[tag=${tag};pt=30;ct=20]] hi`) })),
      );
      for (const r of rs) expect(r.status).toBe(200);
      await Promise.all(rs.map((r) => r.text()));
    }
    const calls = allowancesFor(env).stats.calls - before.calls;
    expect(allowancesFor(env).stats.reservations - before.reservations).toBe(n);
    expect(calls).toBeLessThan(n / 10);
    console.log(JSON.stringify({ requests: n, reserve_round_trips: calls, return_round_trips: allowancesFor(env).stats.returnCalls - before.returnCalls }));
  });

  it("per-key and per-user budgets: 402 names the budget; a user budget applies only to requests that name a user", async () => {
    const k = await newTeamKey();
    await setPolicy(k.team, {
      budgets: [
        { scope: "key", key_id: k.id, period: "day", limit_usd: "0.0002" },
        { scope: "user", period: "week", limit_usd: "0.00005" },
      ],
    });
    const tag = uniqueTag("scopes");
    const body = (user?: string) => ({ model: MINI, max_tokens: 40, ...(user ? { user } : {}), messages: userMsg(`[[tag=${tag};pt=10;ct=10]] x`) });
    // Worst case ≈ 145 bytes × $0.15/M + 40 × $0.60/M ≈ $0.000046 and each costs $0.0000075: after one
    // request alice's $0.00005 cannot cover another worst case.
    expect((await chat(k.key, body("alice"))).status).toBe(200);
    const r = await chat(k.key, body("alice"));
    expect(r.status).toBe(402);
    const err = (await r.json<any>()).error;
    expect(err.budget).toMatchObject({ scope: "user", user: "alice", period: "week" });
    expect(err.message).toMatch(/end user alice's weekly budget/);
    // Bob has his own allowance; a request without a user is held only to the key's budget.
    expect((await chat(k.key, body("bob"))).status).toBe(200);
    let okWithout = 0;
    let refused: any = null;
    for (let i = 0; i < 40 && !refused; i++) {
      const r = await chat(k.key, body());
      if (r.status === 200) {
        okWithout++;
        await r.text();
      } else refused = { status: r.status, error: (await r.json<any>()).error };
    }
    expect(okWithout).toBeGreaterThan(0);
    expect(refused).toMatchObject({ status: 402, error: { budget: { scope: "key", key_id: k.id, period: "day", limit_usd: "0.000200000000" } } });
    const spent = picodollars((await eventually(async () => {
      const u = await usageOf(k.key);
      return u.totals.requests === okWithout + 2 ? u : null;
    })).totals.cost_exact);
    expect(spent).toBeLessThanOrEqual(picodollars("0.0002"));
  });

  it("/v1/key reports limits, reservations and spend like OpenRouter's", async () => {
    const k = await newTeamKey();
    await setPolicy(k.team, {
      budgets: [{ scope: "team", period: "month", limit_usd: "10" }, { scope: "key", period: "day", limit_usd: "2" }],
      rate_limits: [{ scope: "key", rpm: 120, tpm: 100000 }],
    });
    const tag = uniqueTag("keyinfo");
    // A prompt the provider can count as 1000 tokens (its 1,200 bytes bound what a request reserves).
    const r = await chat(k.key, { model: MINI, max_tokens: 10, messages: userMsg(`[[tag=${tag};pt=1000;ct=10]] ${"lorem ".repeat(200)}`) });
    expect(r.status).toBe(200);
    await r.text();
    const cost = picodollars("0.000156000000"); // 1000 × $0.15/M + 10 × $0.60/M
    const info = await eventually(async () => {
      const res = await gw("/v1/key", { key: k.key });
      const d = (await res.json<any>()).data;
      return d.usage_daily > 0 ? d : null;
    });
    expect(info).toMatchObject({
      key_id: k.id,
      team: k.team,
      limit: 2,
      limit_reset: "daily",
      usage: 0.000156,
      usage_exact: "0.000156000000",
      usage_daily: 0.000156,
      usage_weekly: 0.000156,
      usage_monthly: 0.000156,
      rate_limit: { requests: 120, interval: "1m" },
    });
    const day = info.budgets.find((b: any) => b.period === "day");
    expect(day).toMatchObject({ scope: "key", limit_exact: "2.000000000000", usage_exact: "0.000156000000" });
    // The isolate still holds a slice of each budget (reserved), so remaining = limit − usage − reserved.
    expect(picodollars(day.remaining_exact)).toBe(picodollars("2") - cost - picodollars(day.reserved_exact));
    expect(info.limit_remaining).toBe(day.remaining);
    expect(info.rate_limits).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: "rpm", scope: "key", limit: 120 }), expect.objectContaining({ kind: "tpm", scope: "key", limit: 100000 })]),
    );
    expect((await usageOf(k.key)).totals.cost_exact).toBe("0.000156000000");
  });
});
