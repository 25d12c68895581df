import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { bucketId, type BudgetSpec } from "../../src/ledger/budget-book";
import type { UsageEvent } from "../../src/ledger/event";
import type { Ledger } from "../../src/ledger/ledger-do";
import { PERIODS, windowOf } from "../../src/ledger/periods";
import { uniqueTag } from "./helpers";
import { ledgerOf } from "./ledger-helpers";

/**
 * What one team's Ledger sustains, measured and printed (numbers in docs/ledger.md). Speed is not asserted
 * here (a busy machine would fail it; the benchmark judges speed): the test asserts that every event of the
 * run was kept, once.
 */
function events(team: string, n: number, from: number, leases: string[] = []): UsageEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `gen-tp-${team}-${from + i}`, team, key_id: `k_${i % 5}`, user: `user-${i % 20}`, model_requested: "openai/gpt-4o-mini",
    model: "openai/gpt-4o-mini", provider: "openai", status: "ok" as const, streamed: i % 2 === 0, cancelled: false, estimated: false,
    prompt_tokens: 100 + i, completion_tokens: 50, cached_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0, cost: 45_000_000 + i,
    ttfb_ms: 120, latency_ms: 900, created_at: Date.now(), leases,
    attempts: [{ provider: "openai", model: "openai/gpt-4o-mini", status: 200, ok: true, latency_ms: 880 }],
  }));
}

function specs(): BudgetSpec[] {
  const out: BudgetSpec[] = [];
  for (const period of PERIODS) {
    const w = windowOf(period, Date.now());
    const base = { period, label: w.label, from_hour: w.from_hour, to_hour: w.to_hour, ends_at: w.ends_at, limit: 10n ** 18n };
    out.push({ ...base, bucket: bucketId(period, w.label, "team", ""), scope: "team", subject: "" });
    for (let k = 0; k < 5; k++) out.push({ ...base, bucket: bucketId(period, w.label, "key", `k_${k}`), scope: "key", subject: `k_${k}` });
  }
  return out;
}

const rate = (n: number, ms: number) => Math.round((n * 1000) / ms);

describe("ledger throughput", () => {
  it("records per second: single calls, batches of 50 over RPC, and inside the object", { timeout: 60_000 }, async () => {
    const team = `tp-${uniqueTag("a")}`.toLowerCase();
    const stub = ledgerOf(team);
    await stub.record(events(team, 1, 0));

    let t = Date.now();
    for (let i = 0; i < 500; i++) await stub.record(events(team, 1, 1 + i));
    const single = rate(500, Date.now() - t);

    t = Date.now();
    for (let i = 0; i < 200; i++) await stub.record(events(team, 50, 1000 + i * 50));
    const batched = rate(200 * 50, Date.now() - t);

    // With budgets: 24 tracked windows (team and 5 keys × 4 periods) and a lease per key on every event.
    const budgeted = `tp-${uniqueTag("b")}`.toLowerCase();
    const bstub = ledgerOf(budgeted);
    const grants = await bstub.allowances({ budgets: specs().map((spec, i) => ({ lease_id: `lease-${i}`, spec, need: 1n, want: 10n ** 15n })) });
    expect(grants.budgets.every((g) => g.granted > 0n)).toBe(true);
    t = Date.now();
    for (let i = 0; i < 200; i++) await bstub.record(events(budgeted, 50, i * 50, ["lease-0", "lease-1", "lease-6"]));
    const withBudgets = rate(200 * 50, Date.now() - t);

    // Inside the object, no RPC: the SQLite work alone, the ceiling for one team.
    const inside = await runInDurableObject(ledgerOf(`tp-${uniqueTag("c")}`.toLowerCase()), (ledger) => {
      const l = ledger as unknown as Ledger;
      const batches = Array.from({ length: 200 }, (_, i) => events("inside", 50, i * 50));
      const t0 = Date.now();
      for (const b of batches) l.record(b);
      return rate(200 * 50, Date.now() - t0);
    });

    // Lease round trips (a budget ask for 3 windows each), as isolates refill slices.
    t = Date.now();
    const three = specs().slice(0, 3);
    for (let i = 0; i < 300; i++) await bstub.allowances({ budgets: three.map((spec, j) => ({ lease_id: `l-${i}-${j}`, spec, need: 1n, want: 1000n })) });
    const leases = rate(300, Date.now() - t);

    const numbers = { single_calls_per_s: single, batched_events_per_s: batched, batched_with_budgets_events_per_s: withBudgets, in_object_events_per_s: inside, lease_calls_per_s: leases };
    console.log(JSON.stringify(numbers));
    const kept = (stub: ReturnType<typeof ledgerOf>) =>
      runInDurableObject(stub, (_l, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM events").one().n);
    expect(await kept(stub)).toBe(1 + 500 + 200 * 50);
    expect(await kept(bstub)).toBe(200 * 50);
  });
});
