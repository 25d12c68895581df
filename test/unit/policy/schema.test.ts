import { describe, expect, it } from "vitest";
import { validatePolicy } from "../../../src/policy/schema";

describe("policy schema: money", () => {
  it("a budget's limit_usd may be written as a number or a decimal string; either way it is exact", async () => {

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
