/**
 * Budget periods as UTC windows of hour buckets ("YYYY-MM-DDTHH", the rollups' resolution). Every period
 * starts on an hour boundary, so a window's spend is exactly a sum of hourly rollups.
 */
export const PERIODS = ["day", "week", "month", "total"] as const;
export type Period = (typeof PERIODS)[number];

export interface Window {
  /** Names the window in bucket ids: "2026-11-26", "2026-W48" (Monday), "2026-11", "all". */
  label: string;
  /** First hour bucket, inclusive. */
  from_hour: string;
  /** Last hour bucket, inclusive. */
  to_hour: string;
  /** Epoch ms the window ends (exclusive), or null for `total`. */
  ends_at: number | null;
}

const DAY_MS = 86_400_000;

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The window of `period` containing the instant `ms`. */
export function windowOf(period: Period, ms: number): Window {
  const dayStart = Math.floor(ms / DAY_MS) * DAY_MS;
  switch (period) {
    case "day":
      return { label: isoDay(dayStart), from_hour: `${isoDay(dayStart)}T00`, to_hour: `${isoDay(dayStart)}T23`, ends_at: dayStart + DAY_MS };
    case "week": {
      // ISO weeks start on Monday; getUTCDay() is 0 on Sunday.
      const monday = dayStart - ((new Date(dayStart).getUTCDay() + 6) % 7) * DAY_MS;
      const sunday = monday + 6 * DAY_MS;
      return { label: `W${isoDay(monday)}`, from_hour: `${isoDay(monday)}T00`, to_hour: `${isoDay(sunday)}T23`, ends_at: monday + 7 * DAY_MS };
    }
    case "month": {
      const d = new Date(dayStart);
      const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
      const next = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
      return { label: isoDay(start).slice(0, 7), from_hour: `${isoDay(start)}T00`, to_hour: `${isoDay(next - DAY_MS)}T23`, ends_at: next };
    }
    case "total":
      return { label: "all", from_hour: "0000-00-00T00", to_hour: "9999-12-31T23", ends_at: null };
  }
}
