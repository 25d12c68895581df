import { describe, expect, it } from "vitest";
import { envNumber } from "../../../src/core/env-number";
import { upstreamTimeouts, TIMEOUTS } from "../../../src/core/time-limits";
import { circuitConfig } from "../../../src/routing/circuit";

describe("envNumber", () => {
  it("reads a number from a string var, or a number var", () => {
    expect(envNumber({ X: "250" }, "X", 7)).toBe(250);
    expect(envNumber({ X: " 1.5 " }, "X", 7)).toBe(1.5);
    expect(envNumber({ X: 40 }, "X", 7)).toBe(40);
  });

  it("gives the fallback for what is unset, not a number, or ≤ 0", () => {
    for (const v of [undefined, null, "", "  ", "abc", "12ms", "NaN", "Infinity", "0", "-5", 0, -1, Number.NaN, true, {}]) {
      expect(envNumber({ X: v }, "X", 7), String(v)).toBe(7);
    }
    expect(envNumber({} as { X?: string }, "X", 7)).toBe(7);
  });

  it("with a min, takes values from it up (0 where 0 means something), still not blanks", () => {
    expect(envNumber({ X: "0" }, "X", 7, { min: 0 })).toBe(0);
    expect(envNumber({ X: "" }, "X", 7, { min: 0 })).toBe(7);
    expect(envNumber({ X: "-1" }, "X", 7, { min: 0 })).toBe(7);
    expect(envNumber({ X: "2" }, "X", 7, { min: 3 })).toBe(7);
    expect(envNumber({ X: "3" }, "X", 7, { min: 3 })).toBe(3);
  });

  it("is the rule the time limits and the circuit settings follow", () => {
    expect(upstreamTimeouts({ UPSTREAM_IDLE_TIMEOUT_MS: "x", UPSTREAM_TOTAL_TIMEOUT_MS: "-3", UPSTREAM_HEADERS_TIMEOUT_MS: "900" } as never)).toMatchObject({
      idle: TIMEOUTS.idle,
      total: TIMEOUTS.total,
      headers: 900,
    });
    expect(circuitConfig({ CIRCUIT_FAILURES: "0", CIRCUIT_WINDOW_MS: "abc" })).toEqual(circuitConfig({}));
  });
});
