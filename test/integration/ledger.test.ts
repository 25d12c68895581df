import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { flushAllUsage, recordUsage } from "../../src/ledger/batcher";
import type { UsageEvent } from "../../src/ledger/event";

let n = 0;
const uniqueTeam = () => `ledger-${Date.now().toString(36)}-${(n++).toString(36)}`;
const ledger = (team: string) => env.LEDGER.get(env.LEDGER.idFromName(team));
const hour = () => new Date().toISOString().slice(0, 13);
const allTime = { from_hour: "2000-01-01T00", to_hour: "2999-12-31T23", group_by: [] };

function event(team: string, over: Partial<UsageEvent> = {}): UsageEvent {
  return {
    id: `gen-${Date.now()}-${crypto.randomUUID().replace(/-/g, "").slice(0, 20)}`,
    team,
    key_id: "k_test",
    user: null,
    model_requested: "openai/gpt-4o-mini",
    model: "openai/gpt-4o-mini",
    provider: "openai",
    status: "ok",
    streamed: false,
    cancelled: false,
    estimated: false,
    prompt_tokens: 10,
    completion_tokens: 5,
    cached_tokens: 0,
    cache_write_tokens: 0,
    reasoning_tokens: 0,
    cost: 4_500_000,
    ttfb_ms: 3,
    latency_ms: 9,
    created_at: Date.now(),
    attempts: [{ provider: "openai", model: "openai/gpt-4o-mini", status: 200, ok: true, latency_ms: 8 }],
    ...over,
  };
}

describe("Ledger", () => {
  it("records an event once however often it is sent (idempotent by request id)", async () => {
    const team = uniqueTeam();
    const e = event(team);
    expect(await ledger(team).record([e])).toEqual({ inserted: 1, duplicates: 0 });
    expect(await ledger(team).record([e])).toEqual({ inserted: 0, duplicates: 1 });
    expect(await ledger(team).record([e, { ...e, prompt_tokens: 999 }])).toEqual({ inserted: 0, duplicates: 2 });
    const u = await ledger(team).usage({ ...allTime, group_by: ["hour"] });
    expect(u.totals).toEqual({
      requests: 1,
      prompt_tokens: 10,
      completion_tokens: 5,
      cached_tokens: 0,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
      cost_subunits: "4500000",
    });
    expect(u.groups).toEqual([{ hour: hour(), ...u.totals }]);
    const { team: _team, ...stored } = e;
    expect(await ledger(team).generation(e.id)).toMatchObject({ ...stored, answered: true });
  });

  it("counts a duplicate inside one batch once", async () => {
    const team = uniqueTeam();
    const e = event(team);
    expect(await ledger(team).record([e, e])).toEqual({ inserted: 1, duplicates: 1 });
    expect((await ledger(team).usage(allTime)).totals.requests).toBe(1);
  });

  it("keeps a failed request's record without billing or counting it", async () => {
    const team = uniqueTeam();
    const failed = event(team, { status: "error", cost: 123, prompt_tokens: 0, completion_tokens: 0 });
    expect(await ledger(team).record([failed])).toEqual({ inserted: 1, duplicates: 0 });
    expect((await ledger(team).usage(allTime)).totals).toMatchObject({ requests: 0, cost_subunits: "0" });
    expect(await ledger(team).generation(failed.id)).toMatchObject({ status: "error", answered: false, cost: 0 });
  });

  it("sums costs past 2^53 picodollars exactly", async () => {
    const team = uniqueTeam();
    const big = 9_000_000_000_000_001; // < Number.MAX_SAFE_INTEGER, one request's worth
    await ledger(team).record([event(team, { cost: big }), event(team, { cost: big }), event(team, { cost: big })]);
    expect((await ledger(team).usage(allTime)).totals.cost_subunits).toBe("27000000000000003");
  });

  it("loses nothing through the per-isolate batcher (more than one batch, several teams)", async () => {
    const teams = [uniqueTeam(), uniqueTeam()];
    const events = Array.from({ length: 130 }, (_, i) => event(teams[i % 2]!, { cost: 1_000_000 + i }));
    const written = events.map((e) => recordUsage(env, undefined, e));
    // The same events again, as a retried flush would send them.
    for (const e of events.slice(0, 20)) written.push(recordUsage(env, undefined, e));
    await flushAllUsage();
    await Promise.all(written);
    for (const team of teams) {
      const mine = events.filter((e) => e.team === team);
      const t = (await ledger(team).usage(allTime)).totals;
      expect(t.requests).toBe(mine.length);
      expect(t.cost_subunits).toBe(String(mine.reduce((s, e) => s + BigInt(e.cost), 0n)));
    }
  });
});
