import { describe, expect, it } from "vitest";
import { BUILTIN_MODELS } from "../../../src/catalog/builtin";
import type { ModelPricing } from "../../../src/catalog/types";
import { costOf, formatUsd, subunitPricing, toSafeSubunits, usdNumber, usdToSubunits, type TokenCounts } from "../../../src/ledger/cost";

const tokens = (t: Partial<TokenCounts>): TokenCounts => ({
  prompt_tokens: 0,
  completion_tokens: 0,
  cached_tokens: 0,
  cache_write_tokens: 0,
  reasoning_tokens: 0,
  ...t,
});

describe("usdToSubunits", () => {
  it("converts decimal dollars to exact picodollars", () => {
    expect(usdToSubunits("0")).toBe(0n);
    expect(usdToSubunits("1")).toBe(1_000_000_000_000n);
    expect(usdToSubunits("0.00000015")).toBe(150_000n);
    expect(usdToSubunits("0.000000075")).toBe(75_000n);
    expect(usdToSubunits("0.000000000001")).toBe(1n);
    expect(usdToSubunits("12.5")).toBe(12_500_000_000_000n);
    // Beyond 2^53 picodollars, where a float would round.
    expect(usdToSubunits("9007.199254740993")).toBe(9_007_199_254_740_993n);
  });

  it("accepts trailing zeros past the 12th decimal (still exact)", () => {
    expect(usdToSubunits("0.0000001500000")).toBe(150_000n);
    expect(usdToSubunits("1.00000000000000000")).toBe(1_000_000_000_000n);
  });

  it("rejects a price finer than 1e-12 USD", () => {
    expect(() => usdToSubunits("0.0000000000001")).toThrow(/more precision than 1e-12/);
    expect(() => usdToSubunits("0.0000001500001")).toThrow(/more precision than 1e-12/);
  });

  it.each(["", "-1", "1e-7", ".5", "1.", " 1", "1 ", "0x10", "1,5", "NaN", "Infinity"])("rejects %j", (s) => {
    expect(() => usdToSubunits(s)).toThrow(/not a decimal dollar amount/);
  });

  it("converts every built-in price", () => {
    for (const m of BUILTIN_MODELS) expect(() => subunitPricing(m.pricing), m.id).not.toThrow();
  });
});

describe("costOf", () => {
  const full: ModelPricing = {
    prompt: "0.000003",
    completion: "0.000015",
    input_cache_read: "0.0000003",
    input_cache_write: "0.00000375",
    internal_reasoning: "0.00002",
    request: "0.001",
  };

  it("applies the DESIGN.md formula with every price listed", () => {
    const t = tokens({ prompt_tokens: 1000, cached_tokens: 200, cache_write_tokens: 100, completion_tokens: 500, reasoning_tokens: 120 });
    const expected =
      700n * 3_000_000n + // uncached prompt
      200n * 300_000n + // cache reads
      100n * 3_750_000n + // cache writes
      380n * 15_000_000n + // completion without reasoning
      120n * 20_000_000n + // reasoning
      1_000_000_000n; // per request
    expect(expected).toBe(11_635_000_000n);
    expect(costOf(t, full)).toBe(expected);
    expect(formatUsd(costOf(t, full))).toBe("0.011635000000");
  });

  it("prices cache reads and writes at the prompt price, reasoning at the completion price, request at 0 when not listed", () => {
    const plain: ModelPricing = { prompt: "0.000002", completion: "0.000008" };
    const split = tokens({ prompt_tokens: 1000, cached_tokens: 200, cache_write_tokens: 100, completion_tokens: 500, reasoning_tokens: 120 });
    const flat = tokens({ prompt_tokens: 1000, completion_tokens: 500 });
    expect(costOf(split, plain)).toBe(1000n * 2_000_000n + 500n * 8_000_000n);
    expect(costOf(split, plain)).toBe(costOf(flat, plain));
    expect(subunitPricing(plain)).toEqual({
      prompt: 2_000_000n,
      completion: 8_000_000n,
      input_cache_read: 2_000_000n,
      input_cache_write: 2_000_000n,
      internal_reasoning: 8_000_000n,
      request: 0n,
      web_search: 0n,
    });
  });

  it("adds each web search the usage reports at the entry's web_search price", () => {
    const p: ModelPricing = { prompt: "0.000001", completion: "0.000005", web_search: "0.01" };
    const t = tokens({ prompt_tokens: 100, completion_tokens: 20 });
    expect(costOf({ ...t, web_search_requests: 3 }, p)).toBe(costOf(t, p) + 3n * 10_000_000_000n);
  });

  it("falls back per price, not all or nothing", () => {
    const p: ModelPricing = { prompt: "0.000001", completion: "0.000004", input_cache_read: "0.0000001" };
    const t = tokens({ prompt_tokens: 10, cached_tokens: 4, cache_write_tokens: 3, completion_tokens: 6, reasoning_tokens: 2 });
    expect(costOf(t, p)).toBe(3n * 1_000_000n + 4n * 100_000n + 3n * 1_000_000n + 4n * 4_000_000n + 2n * 4_000_000n);
  });

  it("is exact where floating point is not", () => {
    const mini: ModelPricing = { prompt: "0.00000015", completion: "0.0000006" };
    const c = costOf(tokens({ prompt_tokens: 3, completion_tokens: 7 }), mini);
    expect(c).toBe(4_650_000n);
    expect(formatUsd(c)).toBe("0.000004650000");
    expect(3 * 0.00000015 + 7 * 0.0000006).not.toBe(0.00000465); // why the ledger does not use floats
    expect(usdNumber(c)).toBe(0.00000465);
  });

  it("charges the per-request price for a request with no tokens", () => {
    expect(costOf(tokens({}), full)).toBe(1_000_000_000n);
    expect(costOf(tokens({}), { prompt: "0.000001", completion: "0.000002" })).toBe(0n);
  });

  it("never bills a negative uncached prompt or plain completion", () => {
    const p: ModelPricing = { prompt: "0.000001", completion: "0.000002" };
    // A provider reporting more cached than prompt tokens: only the cached tokens are billed.
    expect(costOf(tokens({ prompt_tokens: 5, cached_tokens: 8 }), p)).toBe(8n * 1_000_000n);
    expect(costOf(tokens({ completion_tokens: 2, reasoning_tokens: 3 }), p)).toBe(3n * 2_000_000n);
  });

  it("sums a million requests exactly", () => {
    const one = costOf(tokens({ prompt_tokens: 3, completion_tokens: 7 }), { prompt: "0.00000015", completion: "0.0000006" });
    let sum = 0n;
    for (let i = 0; i < 1_000_000; i++) sum += one;
    expect(formatUsd(sum)).toBe("4.650000000000");
  });
});

describe("formatUsd and friends", () => {
  it("prints every sub-unit digit", () => {
    expect(formatUsd(0n)).toBe("0.000000000000");
    expect(formatUsd(1n)).toBe("0.000000000001");
    expect(formatUsd(150_000n)).toBe("0.000000150000");
    expect(formatUsd(1_000_000_000_000n)).toBe("1.000000000000");
    expect(formatUsd(1_234_567_890_123_456n)).toBe("1234.567890123456");
    expect(formatUsd(-5n)).toBe("-0.000000000005");
    expect(formatUsd(9_223_372_036_854_775_807n)).toBe("9223372.036854775807");
  });

  it("round-trips with usdToSubunits", () => {
    for (const s of ["0.000000000001", "0.011635000000", "1234.567890123456"]) expect(formatUsd(usdToSubunits(s))).toBe(s);
  });

  it("toSafeSubunits refuses what a number cannot hold", () => {
    expect(toSafeSubunits(4_650_000n)).toBe(4_650_000);
    expect(toSafeSubunits(BigInt(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => toSafeSubunits(BigInt(Number.MAX_SAFE_INTEGER) + 1n)).toThrow(/out of range/);
    expect(() => toSafeSubunits(-1n)).toThrow(/out of range/);
  });
});
