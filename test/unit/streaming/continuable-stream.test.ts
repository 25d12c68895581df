import { describe, expect, it } from "vitest";
import { seamTrim } from "../../../src/streaming/continuable-stream";

describe("the seam of a continued answer", () => {
  it("drops leading whitespace the client already has, and nothing else", () => {
    expect(seamTrim(" three", "one two ")).toBe("three"); // the space is not doubled
    expect(seamTrim("three", "one two ")).toBe("three"); // nor lost
    expect(seamTrim(" three", "one two")).toBe(" three"); // cut mid-text: the model's own space stays
    expect(seamTrim("wo", "one t")).toBe("wo");
    expect(seamTrim("\n\nNext", "para.\n")).toBe("\nNext"); // one newline was the client's, one is new
    expect(seamTrim("\nNext", "para.\n\n")).toBe("Next");
    expect(seamTrim("\nNext", "one ")).toBe("\nNext"); // a different whitespace is the model's
  });
});
