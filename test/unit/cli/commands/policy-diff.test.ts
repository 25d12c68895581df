import { describe, expect, it } from "vitest";
import { diffDocuments } from "../../../../cli/commands/policy-diff";

describe("policy diff", () => {
  it("one line per changed path", () => {
    expect(diffDocuments({ a: 1, b: { c: [1], d: "x" } }, { a: 1, b: { c: [1, 2] }, e: true })).toEqual([
      "~ b.c: [1] → [1,2]",
      '- b.d: "x"',
      "+ e: true",
    ]);
  });
});
