import { describe, expect, it } from "vitest";
import { nestedDeeperThan } from "../../../src/http/body";

describe("nestedDeeperThan", () => {
  const nest = (n: number) => "[".repeat(n) + "]".repeat(n);

  it("counts arrays and objects, mixed", () => {
    expect(nestedDeeperThan(nest(64), 64)).toBe(false);
    expect(nestedDeeperThan(nest(65), 64)).toBe(true);
    expect(nestedDeeperThan('{"a":{"b":[{"c":[]}]}}', 4)).toBe(true);
    expect(nestedDeeperThan('{"a":{"b":[{"c":[]}]}}', 5)).toBe(false);
    // Siblings do not add up.
    expect(nestedDeeperThan(`[${Array(100).fill(nest(3)).join(",")}]`, 4)).toBe(false);
  });

  it("skips brackets inside strings, escaped quotes and backslashes included", () => {
    expect(nestedDeeperThan(JSON.stringify({ s: "[".repeat(1000) }), 2)).toBe(false);
    expect(nestedDeeperThan(JSON.stringify({ s: '\\"[[[[' }), 2)).toBe(false);
    expect(nestedDeeperThan(JSON.stringify({ s: "\\", t: [[[]]] }), 3)).toBe(true);
    expect(nestedDeeperThan(JSON.stringify({ s: '\\\\"', t: [[[]]] }), 4)).toBe(false);
  });

  it("leaves text that is not JSON to the parser", () => {
    expect(nestedDeeperThan('{"open', 1)).toBe(false);
  });
});
