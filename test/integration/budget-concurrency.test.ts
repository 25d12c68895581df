import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { allowancesFor } from "../../src/http/request-hold";
import { usdToSubunits } from "../../src/ledger/cost";
import { bucketId } from "../../src/ledger/budget-book";
import { windowOf } from "../../src/ledger/periods";
import { picodollars } from "../support/money";
import { chat, eventually, newTeamKey, uniqueTag, usageOf, userMsg } from "./helpers";
import { ledgerOf, setPolicy } from "./ledger-helpers";

const MINI = "openai/gpt-4o-mini";

describe("hard budgets under concurrency", () => {
  it("200 concurrent requests against a small team budget never spend past it; the rest get 402", async () => {
    const k = await newTeamKey();
    const limit = "0.002";
    await setPolicy(k.team, { budgets: [{ scope: "team", period: "day", limit_usd: limit }] });
    const tag = uniqueTag("b200");
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        chat(k.key, {
          model: MINI,
          max_tokens: 40,
          stream: i % 2 === 0,
          stream_options: { include_usage: true },
          messages: userMsg(`[[tag=${tag};pt=${20 + (i % 7)};ct=${10 + (i % 30)};first_delay=${i % 5}]] request ${i}`),
        }).then(async (r) => ({ status: r.status, text: await r.text() })),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 402);
    expect(ok.length + refused.length, JSON.stringify(results.filter((r) => r.status !== 200 && r.status !== 402).slice(0, 2))).toBe(200);
    expect(ok.length).toBeGreaterThan(10);
    expect(refused.length).toBeGreaterThan(0);

    const err = JSON.parse(refused[0]!.text).error;
    expect(err.code).toBe("insufficient_budget");
    expect(err.type).toBe("insufficient_quota");
    expect(err.budget).toMatchObject({ scope: "team", period: "day", limit_usd: "0.002000000000" });
    expect(picodollars(err.budget.remaining_usd)).toBeLessThan(picodollars(err.budget.request_max_usd));
    expect(err.message).toMatch(/budget of \$0\.002 has \$[0-9.]+ left/);

    const u = await eventually(async () => {
      const u = await usageOf(k.key);
      return u.totals.requests === ok.length ? u : null;
    });
    expect(picodollars(u.totals.cost_exact)).toBeLessThanOrEqual(usdToSubunits(limit));

    // The ledger's own view: what it counts as spent is exactly what it recorded, and spent + held ≤ limit.
    const w = windowOf("day", Date.now());
    const spec = { bucket: bucketId("day", w.label, "team", ""), scope: "team" as const, subject: "", period: "day" as const, label: w.label, from_hour: w.from_hour, to_hour: w.to_hour, ends_at: w.ends_at, limit: usdToSubunits(limit) };
    const [st] = await ledgerOf(k.team).budgetStates([spec]);
    expect(st!.spent).toBe(picodollars(u.totals.cost_exact));
    expect(st!.spent + st!.held).toBeLessThanOrEqual(usdToSubunits(limit));
    console.log(JSON.stringify({ ok: ok.length, refused: refused.length, spent: u.totals.cost_exact, st: { spent: String(st!.spent), held: String(st!.held) }, stats: allowancesFor(env).stats }));
  });
});
