import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Allowances, RefusedError, type RateNeed } from "../../../src/ledger/allowances";
import type { BudgetSpec } from "../../../src/ledger/budget-book";
import { LEASE_WINDOW_MS } from "../../../src/ledger/budget-book";
import { budgetSpecs, rateSpecs } from "../../../src/http/request-hold";
import { PolicyDocument } from "../../../src/policy/schema";
import { ManualClock } from "../../support/manual-clock";

/*
 * The isolate's budget and rate slices against a real Ledger Durable Object, both on a clock the test moves
 * (src/core/clock.ts): lease windows, remembered refusals, budget periods and rate windows end when the
 * clock says, not when a busy machine gets round to it.
 */
const USD = 1_000_000_000_000n;
const CENT = USD / 100n;

let clock: ManualClock;
let team: string;
let allowances: Allowances;
beforeEach(() => {
  clock = new ManualClock(Date.parse("2026-11-26T12:00:00Z")).install();
  team = `allow-${crypto.randomUUID()}`;
  allowances = new Allowances((t, req) => env.LEDGER.get(env.LEDGER.idFromName(t)).allowances(req));
});
afterEach(() => clock.uninstall());

function policy(doc: Record<string, unknown>) {
  return PolicyDocument.parse({ team, ...doc });
}
const daily = (limit: string) => policy({ budgets: [{ scope: "team", period: "day", limit_usd: limit }] });
const budgets = (limit: string): BudgetSpec[] => budgetSpecs(daily(limit), "k1", null, clock.now());

async function refusal(p: Promise<unknown>): Promise<RefusedError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(RefusedError);
  return err as RefusedError;
}

describe("budget slices", () => {
  it("serves reservations from a leased slice: one Ledger call for several requests", async () => {
    const specs = budgets("1.00");
    for (let i = 0; i < 8; i++) await allowances.reserve(team, specs, CENT, []);
    expect(allowances.stats).toMatchObject({ reservations: 8, calls: 1 });
    expect(allowances.held(team).reserved).toBe(8n * CENT);
  });

  it("a settle frees the reservation and counts the cost once, however often it is called", async () => {
    const specs = budgets("1.00");
    const hold = await allowances.reserve(team, specs, 5n * CENT, []);
    const free = allowances.held(team).free;
    await hold.settle(2n * CENT, 0);
    expect(await hold.settle(2n * CENT, 0)).toBeNull();
    expect(allowances.held(team)).toMatchObject({ reserved: 0n, free: free + 3n * CENT });
  });

  it("refuses what the window cannot cover, and does not ask again for a moment", async () => {
    const specs = budgets("0.05");
    await allowances.reserve(team, specs, 3n * CENT, []);
    const refused = await refusal(allowances.reserve(team, specs, 3n * CENT, []));
    expect(refused.refusal).toMatchObject({ kind: "budget", need: 3n * CENT, state: { available: 2n * CENT } });
    const calls = allowances.stats.calls;
    await refusal(allowances.reserve(team, specs, 3n * CENT, []));
    await clock.advance(999);
    await refusal(allowances.reserve(team, specs, 3n * CENT, []));
    expect(allowances.stats.calls).toBe(calls);
    await clock.advance(1);
    await refusal(allowances.reserve(team, specs, 3n * CENT, []));
    expect(allowances.stats.calls).toBe(calls + 1);
  });

  it("reserves from a slice only within its lease window; the next reservation takes a new lease", async () => {
    const specs = budgets("1.00");
    const first = await allowances.reserve(team, specs, CENT, []);
    await clock.advance(LEASE_WINDOW_MS - 1);
    const same = await allowances.reserve(team, specs, CENT, []);
    expect(same.leases).toEqual(first.leases);
    await clock.advance(1);
    const next = await allowances.reserve(team, specs, CENT, []);
    expect(next.leases).not.toEqual(first.leases);
    expect(allowances.stats.calls).toBe(2);
  });

  it("a day's budget is the day's: spent out at 23:59:59.999, whole again at midnight", async () => {
    clock = new ManualClock(Date.parse("2026-11-26T23:59:59.999Z")).install();
    const today = budgets("0.05");
    await allowances.reserve(team, today, 5n * CENT, []);
    await refusal(allowances.reserve(team, today, CENT, []));
    await clock.advance(1);
    const tomorrow = budgets("0.05");
    expect(tomorrow[0]!.label).toBe("2026-11-27");
    expect(tomorrow[0]!.bucket).not.toBe(today[0]!.bucket);
    const hold = await allowances.reserve(team, tomorrow, 5n * CENT, []);
    expect(hold.leases).toHaveLength(1);
  });
});

describe("rate slices", () => {
  const rpm = (n: number): RateNeed[] => rateSpecs(policy({ rate_limits: [{ scope: "key", rpm: n }] }), "k1").rpm.map((spec) => ({ spec, amount: 1 }));

  it("refuses past the limit, and lets a request through again as the minute refills the bucket", async () => {
    const need = rpm(2);
    await allowances.reserve(team, [], 0n, need);
    await allowances.reserve(team, [], 0n, need);
    const refused = await refusal(allowances.reserve(team, [], 0n, need));
    expect(refused.refusal.kind).toBe("rate");
    // 2 a minute: one more every 30 s.
    await clock.advance(29_000);
    await refusal(allowances.reserve(team, [], 0n, need));
    await clock.advance(1_000);
    await allowances.reserve(team, [], 0n, need);
  });

  it("uses tokens taken from the Ledger within their window only, then asks again", async () => {
    const need = rpm(600);
    await allowances.reserve(team, [], 0n, need);
    await allowances.reserve(team, [], 0n, need);
    expect(allowances.stats.calls).toBe(1);
    await clock.advance(2_000);
    await allowances.reserve(team, [], 0n, need);
    expect(allowances.stats.calls).toBe(2);
  });
});
