import type { AuditAnchor, AuditRecord, Mismatch } from "./audit";
import { TOKEN_FIELDS, type TokenColumns } from "./cost";
import { hourBucket } from "./event";
import { windowOf, type Period } from "./periods";

/**
 * The sums the Ledger keeps beside its records — hourly rollups (what /v1/usage reads) and budget windows'
 * recorded spend (what budgets enforce) — recomputed from the records during `audit verify`, so an edit to
 * either table is found as surely as an edit to a record.
 *
 * Rollups of an hour after the anchor's (the latest hour a pruned record had) must equal the kept records
 * of that hour exactly; rollups of earlier hours also hold pruned records, so they can only be checked to be
 * no less than the kept ones. Every budget window's spend must equal the rollups of its window and subject.
 */

export interface RollupRow extends TokenColumns {
  hour: string;
  model: string;
  provider: string;
  key_id: string;
  /** "" when the requests named no end user. */
  user_id: string;
  requests: number;
  /** Integer picodollars, as a decimal string (sums pass 2^53). */
  cost: string;
}

export interface BudgetSpendRow {
  bucket: string;
  scope: "team" | "key" | "user";
  subject: string;
  period: Period;
  label: string;
  /** Integer picodollars, as a decimal string. */
  spent: string;
}

/** One page of GET /v1/audit/totals. */
export interface AuditTotalsPage {
  rollups: RollupRow[];
  /** On the first page only. */
  budget_spend: BudgetSpendRow[];
  next_cursor: number | null;
}

const COUNTS = ["requests", ...TOKEN_FIELDS] as const;

interface Sums {
  counts: number[];
  cost: bigint;
}

const rollupKey = (r: { hour: string; model: string; provider: string; key_id: string; user_id: string }) =>
  `${r.hour}\u0000${r.model}\u0000${r.provider}\u0000${r.key_id}\u0000${r.user_id}`;

export class TotalsVerifier {
  private readonly fromRecords = new Map<string, Sums>();

  /** Adds the answered records of a page (failed ones are not in the rollups). */
  push(records: readonly AuditRecord[]): void {
    for (const r of records) {
      if (r.status === "error") continue;
      const k = rollupKey({ hour: hourBucket(r.created_at), model: r.model, provider: r.provider, key_id: r.key_id, user_id: r.user ?? "" });
      let s = this.fromRecords.get(k);
      if (!s) this.fromRecords.set(k, (s = { counts: COUNTS.map(() => 0), cost: 0n }));
      s.counts[0]!++;
      for (let i = 1; i < COUNTS.length; i++) s.counts[i]! += r[COUNTS[i]! as Exclude<(typeof COUNTS)[number], "requests">];
      s.cost += BigInt(r.cost);
    }
  }

  /** The first rollup or budget window that the records do not account for, or null. */
  check(rollups: readonly RollupRow[], budgets: readonly BudgetSpendRow[], anchor: AuditAnchor | null): Mismatch | null {
    // Without the hour of the last pruned record, every hour may hold pruned records.
    const sealedThrough = anchor ? (anchor.hour ?? "9999") : "";
    const seen = new Set<string>();
    for (const row of rollups) {
      const k = rollupKey(row);
      seen.add(k);
      const s = this.fromRecords.get(k) ?? { counts: COUNTS.map(() => 0), cost: 0n };
      const stored = [...COUNTS.map((c) => row[c]), BigInt(row.cost)];
      const recomputed = [...s.counts, s.cost];
      const exact = row.hour > sealedThrough;
      const bad = stored.findIndex((v, i) => (exact ? v !== recomputed[i] : v < recomputed[i]!));
      if (bad >= 0) {
        const field = bad < COUNTS.length ? COUNTS[bad]! : "cost";
        return {
          seq: 0,
          id: `(rollup ${row.hour} ${row.model} ${row.key_id}${row.user_id ? ` ${row.user_id}` : ""})`,
          reason: `rollup ${field} is ${stored[bad]}, the records ${exact ? "sum to" : "alone sum to more:"} ${recomputed[bad]}`,
        };
      }
    }
    for (const [k, s] of this.fromRecords) {
      if (seen.has(k)) continue;
      const [hour, model, , key] = k.split("\u0000");
      return { seq: 0, id: `(rollup ${hour} ${model} ${key})`, reason: `no rollup row for ${s.counts[0]} recorded requests` };
    }
    for (const b of budgets) {
      const w = windowOf(b.period, b.period === "total" ? 0 : labelStart(b.period, b.label));
      let sum = 0n;
      for (const r of rollups) {
        if (r.hour < w.from_hour || r.hour > w.to_hour) continue;
        if (b.scope === "key" && r.key_id !== b.subject) continue;
        if (b.scope === "user" && r.user_id !== b.subject) continue;
        sum += BigInt(r.cost);
      }
      if (BigInt(b.spent) !== sum) {
        return { seq: 0, id: `(budget ${b.bucket})`, reason: `budget window spend is ${b.spent} pUSD, its rollups sum to ${sum}` };
      }
    }
    return null;
  }
}

/** An instant inside the window a label names ("2026-11-26", "W2026-11-23", "2026-11"). */
function labelStart(period: Period, label: string): number {
  if (period === "week") return Date.parse(`${label.slice(1)}T00:00:00Z`);
  if (period === "month") return Date.parse(`${label}-01T00:00:00Z`);
  return Date.parse(`${label}T00:00:00Z`);
}
