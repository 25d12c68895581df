import { windowOf, type Period } from "./periods";
import { big, readBig } from "./schema";

/**
 * The Ledger's side of hard budgets. A budget window (say: key k_1, day 2026-11-26) is a bucket. Its
 * committed amount is
 *
 *     spent (recorded requests in the window) + Σ held by leases of the bucket
 *
 * where an open lease holds `amount − used` (what its isolate may still spend) and a returned one holds
 * `spent − used` (spend its isolate settled whose records have not arrived yet); `used` grows as the
 * lease's requests are recorded. A lease is granted only while committed + grant ≤ limit, so recorded spend
 * can never pass the limit as long as each isolate stays within its slices (see docs/ledger.md).
 */

/** How long an isolate may take new reservations from a lease. */
export const LEASE_WINDOW_MS = 10_000;
/** After the window: the longest a request may run (routing's default total timeout) plus the usage flush. */
const LEASE_TAIL_MS = 300_000 + 30_000;
const FLUSH_MARGIN_MS = 30_000;
/** One isolate gets at most this share of what is still available (so no isolate hoards a budget). */
const SHARE = 4n;
/** Returned leases whose records never arrived stop holding budget after this long. */
const RETURNED_TTL_MS = 3_600_000;

export type BudgetScope = "team" | "key" | "user";

/** One budget window, as the isolate derives it from the policy and the request. */
export interface BudgetSpec {
  bucket: string;
  scope: BudgetScope;
  /** "" for team, else the key id or the end user. */
  subject: string;
  period: Period;
  label: string;
  from_hour: string;
  to_hour: string;
  ends_at: number | null;
  /** Picodollars. */
  limit: bigint;
}

export function bucketId(period: Period, label: string, scope: BudgetScope, subject: string): string {
  return `${period}:${label}:${scope}:${subject}`;
}

export interface LeaseAsk {
  /** Chosen by the isolate, so a retried ask is granted once. */
  lease_id: string;
  spec: BudgetSpec;
  /** The reservation that did not fit: a grant is at least this, or nothing. */
  need: bigint;
  /** What the isolate would like, to serve the next requests locally. */
  want: bigint;
  /** The longest its requests may run (a policy may allow more than the default 300 s). */
  max_request_ms?: number;
}

export interface BudgetState {
  bucket: string;
  limit: bigint;
  /** Recorded spend in the window. */
  spent: bigint;
  /** Held by isolates' leases (reserved, or settled and not yet recorded). */
  held: bigint;
  /** limit − spent − held (negative after an overrun). */
  available: bigint;
}

export interface LeaseGrant extends BudgetState {
  lease_id: string;
  /** 0n when refused. */
  granted: bigint;
  reserve_until: number;
  expires_at: number;
}

export interface LeaseShrink {
  lease_id: string;
  /** Unreserved picodollars the isolate gives back while the lease's requests are still running. */
  by: bigint;
}

export interface LeaseReturn {
  lease_id: string;
  /** The exact total the isolate settled under the lease. */
  spent: bigint;
}

interface Tracked {
  scope: BudgetScope;
  subject: string;
  period: Period;
  label: string;
}

export class BudgetBook {
  private tracked: Map<string, Tracked> | null = null;

  constructor(private readonly sql: SqlStorage) {}

  private trackedBuckets(): Map<string, Tracked> {
    if (!this.tracked) {
      this.tracked = new Map();
      for (const r of this.sql.exec(`SELECT bucket, scope, subject, period, label FROM budget_spend`)) {
        this.tracked.set(r.bucket as string, { scope: r.scope as BudgetScope, subject: r.subject as string, period: r.period as Period, label: r.label as string });
      }
    }
    return this.tracked;
  }

  /** The bucket's recorded spend, seeding it from the hourly rollups the first time it is asked for. */
  private spentOf(spec: BudgetSpec): bigint {
    const row = this.sql.exec(`SELECT CAST(spent AS TEXT) AS spent FROM budget_spend WHERE bucket = ?`, spec.bucket).toArray()[0];
    if (row) return readBig(row.spent);
    const filter = spec.scope === "key" ? ` AND key_id = ?` : spec.scope === "user" ? ` AND user_id = ?` : "";
    const binds: SqlStorageValue[] = [spec.from_hour, spec.to_hour];
    if (filter) binds.push(spec.subject);
    const seeded = readBig(
      this.sql.exec(`SELECT CAST(COALESCE(SUM(cost), 0) AS TEXT) AS s FROM rollups WHERE hour >= ? AND hour <= ?${filter}`, ...binds).one().s,
    );
    this.sql.exec(
      `INSERT INTO budget_spend (bucket, scope, subject, period, label, ends_at, spent) VALUES (?, ?, ?, ?, ?, ?, CAST(? AS INTEGER))`,
      spec.bucket, spec.scope, spec.subject, spec.period, spec.label, spec.ends_at, big(seeded),
    );
    this.trackedBuckets().set(spec.bucket, { scope: spec.scope, subject: spec.subject, period: spec.period, label: spec.label });
    return seeded;
  }

  private heldBy(bucket: string, now: number): bigint {
    return readBig(
      this.sql
        .exec(
          `SELECT CAST(COALESCE(SUM(CASE WHEN returned_at IS NULL THEN MAX(0, amount - used) ELSE MAX(0, spent - used) END), 0) AS TEXT) AS held
           FROM leases WHERE bucket = ? AND ((returned_at IS NULL AND expires_at > ?) OR returned_at IS NOT NULL)`,
          bucket, now,
        )
        .one().held,
    );
  }

  state(spec: BudgetSpec, now: number): BudgetState {
    const spent = this.spentOf(spec);
    const held = this.heldBy(spec.bucket, now);
    return { bucket: spec.bucket, limit: spec.limit, spent, held, available: spec.limit - spent - held };
  }

  grant(ask: LeaseAsk, now: number): LeaseGrant {
    const existing = this.sql
      .exec(`SELECT CAST(amount AS TEXT) AS amount, reserve_until, expires_at FROM leases WHERE id = ?`, ask.lease_id)
      .toArray()[0];
    const st = this.state(ask.spec, now);
    if (existing) {
      return { ...st, lease_id: ask.lease_id, granted: readBig(existing.amount), reserve_until: existing.reserve_until as number, expires_at: existing.expires_at as number };
    }
    const reserve_until = now + LEASE_WINDOW_MS;
    const expires_at = reserve_until + Math.max(LEASE_TAIL_MS, (ask.max_request_ms ?? 0) + FLUSH_MARGIN_MS);
    if (ask.need > st.available || ask.need <= 0n) return { ...st, lease_id: ask.lease_id, granted: 0n, reserve_until, expires_at };
    const share = st.available / SHARE;
    let granted = ask.want < share ? ask.want : share;
    if (granted < ask.need) granted = ask.need;
    this.sql.exec(
      `INSERT INTO leases (id, bucket, amount, granted_at, reserve_until, expires_at) VALUES (?, ?, CAST(? AS INTEGER), ?, ?, ?)`,
      ask.lease_id, ask.spec.bucket, big(granted), now, reserve_until, expires_at,
    );
    return { ...st, held: st.held + granted, available: st.available - granted, lease_id: ask.lease_id, granted, reserve_until, expires_at };
  }

  shrink(s: LeaseShrink): void {
    this.sql.exec(`UPDATE leases SET amount = amount - CAST(? AS INTEGER) WHERE id = ? AND returned_at IS NULL`, big(s.by), s.lease_id);
  }

  /** Final return of a lease: idempotent; a lease already reclaimed still takes its settled spend. */
  giveBack(r: LeaseReturn, now: number): void {
    this.sql.exec(`UPDATE leases SET spent = CAST(? AS INTEGER), returned_at = ? WHERE id = ? AND returned_at IS NULL`, big(r.spent), now, r.lease_id);
    this.sql.exec(`DELETE FROM leases WHERE id = ? AND returned_at IS NOT NULL AND used >= spent`, r.lease_id);
  }

  /**
   * Inside record()'s transaction: adds newly recorded spend to the tracked windows it falls in and to the
   * leases it was reserved under.
   */
  onRecorded(spend: readonly { created_at: number; hour: string; key_id: string; user: string | null; cost: number }[], leaseUse: Map<string, bigint>): void {
    for (const [id, used] of leaseUse) {
      this.sql.exec(`UPDATE leases SET used = used + CAST(? AS INTEGER) WHERE id = ?`, big(used), id);
      // A returned lease whose every record has arrived holds nothing more.
      this.sql.exec(`DELETE FROM leases WHERE id = ? AND returned_at IS NOT NULL AND used >= spent`, id);
    }
    const tracked = this.trackedBuckets();
    if (tracked.size === 0) return;
    const periods = new Set<Period>();
    for (const t of tracked.values()) periods.add(t.period);
    const labels = new Map<string, string>();
    const add = new Map<string, bigint>();
    for (const e of spend) {
      if (e.cost <= 0) continue;
      for (const p of periods) {
        const lk = `${p}|${e.hour}`;
        let label = labels.get(lk);
        if (label === undefined) {
          label = labelOf(p, e.hour);
          labels.set(lk, label);
        }
        const ids = [bucketId(p, label, "team", ""), bucketId(p, label, "key", e.key_id)];
        if (e.user !== null) ids.push(bucketId(p, label, "user", e.user));
        for (const id of ids) if (tracked.has(id)) add.set(id, (add.get(id) ?? 0n) + BigInt(e.cost));
      }
    }
    for (const [id, amount] of add) {
      this.sql.exec(`UPDATE budget_spend SET spent = spent + CAST(? AS INTEGER) WHERE bucket = ?`, big(amount), id);
    }
  }

  /** Alarm housekeeping: reclaimed and settled leases, windows long over. */
  prune(now: number): { leases: number; windows: number } {
    const leases = this.sql.exec(
      `DELETE FROM leases WHERE (returned_at IS NULL AND expires_at <= ?) OR (returned_at IS NOT NULL AND (used >= spent OR returned_at <= ?))`,
      now, now - RETURNED_TTL_MS,
    ).rowsWritten;
    const cutoff = now - 2 * 86_400_000;
    const ended = this.sql.exec<{ bucket: string }>(`SELECT bucket FROM budget_spend WHERE ends_at IS NOT NULL AND ends_at <= ?`, cutoff).toArray();
    for (const r of ended) {
      this.sql.exec(`DELETE FROM budget_spend WHERE bucket = ?`, r.bucket);
      this.trackedBuckets().delete(r.bucket);
    }
    return { leases, windows: ended.length };
  }
}

/** The window label of `period` for an hour bucket (as windowOf would give for any instant in that hour). */
function labelOf(period: Period, hour: string): string {
  return windowOf(period, Date.parse(`${hour}:00:00Z`)).label;
}
