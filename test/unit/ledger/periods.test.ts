import { describe, expect, it } from "vitest";
import { windowOf } from "../../../src/ledger/periods";

describe("windowOf", () => {
  const at = Date.parse("2026-11-26T15:30:00Z"); // a Thursday
  it("day, ISO week (Monday) and month windows in UTC, total", () => {
    expect(windowOf("day", at)).toEqual({ label: "2026-11-26", from_hour: "2026-11-26T00", to_hour: "2026-11-26T23", ends_at: Date.parse("2026-11-27T00:00:00Z") });
    expect(windowOf("week", at)).toEqual({ label: "W2026-11-23", from_hour: "2026-11-23T00", to_hour: "2026-11-29T23", ends_at: Date.parse("2026-11-30T00:00:00Z") });
    expect(windowOf("week", Date.parse("2026-11-29T23:59:59Z")).label).toBe("W2026-11-23");
    expect(windowOf("week", Date.parse("2026-11-30T00:00:00Z")).label).toBe("W2026-11-30");
    expect(windowOf("month", at)).toEqual({ label: "2026-11", from_hour: "2026-11-01T00", to_hour: "2026-11-30T23", ends_at: Date.parse("2026-12-01T00:00:00Z") });
    expect(windowOf("month", Date.parse("2028-02-10T00:00:00Z")).to_hour).toBe("2028-02-29T23");
    expect(windowOf("total", at)).toMatchObject({ label: "all", ends_at: null });
  });
});
