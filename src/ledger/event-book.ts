import { canonicalJson, chainHash, GENESIS_HASH, sha256Hex, type AuditAnchor, type AuditRecord, type ChainLink } from "./audit";
import type { AuditTotalsPage, BudgetSpendRow, RollupRow } from "./audit-totals";
import type { UsageEvent, UsageGroup, UsageGroupRow, UsageQuery, UsageTotalsRow } from "./event";
import { hourBucket } from "./event";
import { getMeta, setMeta } from "./schema";
import { TOKEN_FIELDS, tokenColumns, ZERO_TOKENS, type TokenColumns } from "./cost";

/**
 * The Ledger's per-request records and hourly rollups: recording (idempotent by request id, chained for
 * audit), the usage queries, export and pruning.
 */

const GROUP_COLUMN: Record<UsageGroup, string> = {
  day: "substr(hour, 1, 10)",
  hour: "hour",
  model: "model",
  provider: "provider",
  key: "key_id",
  user: "user_id",
};

const TOTALS_SQL = `COUNT(*) AS n, SUM(requests) AS requests, ${TOKEN_FIELDS.map((f) => `SUM(${f}) AS ${f}`).join(", ")},
  CAST(COALESCE(SUM(cost), 0) AS TEXT) AS cost_subunits`;

export interface EventRow extends Record<string, SqlStorageValue>, TokenColumns {
  seq: number;
  id: string;
  created_at: number;
  hour: string;
  key_id: string;
  user_id: string;
  model_requested: string;
  model: string;
  provider: string;
  status: string;
  answered: number;
  streamed: number;
  cancelled: number;
  estimated: number;
  cost: number;
  ttfb_ms: number | null;
  latency_ms: number;
  attempts: string;
  content_sha256: string | null;
  hash: string;
  estimate_method: string | null;
  uncapped_cost: number | null;
}

const SUMMED = [...TOKEN_FIELDS, "cost"] as const;

/** The change one batch makes to one rollup row: its key, the requests and the sums of SUMMED. */
type RollupDelta = Pick<EventRow, "hour" | "model" | "provider" | "key_id" | "user_id" | (typeof SUMMED)[number]> & { requests: number };

/**
 * A batch's rollup changes, summed per row so that a batch makes one upsert per (hour, model, provider, key,
 * user) rather than one per event. Sums stay exact: a row's delta is written out before a sum would pass
 * Number.MAX_SAFE_INTEGER, and summed on from zero.
 */
class RollupDeltas {
  private readonly rows = new Map<string, RollupDelta>();
  constructor(private readonly write: (d: RollupDelta) => void) {}

  add(r: EventRow): void {
    const k = `${r.hour}\u0000${r.model}\u0000${r.provider}\u0000${r.key_id}\u0000${r.user_id}`;
    let d = this.rows.get(k);
    if (d && !SUMMED.every((f) => Number.isSafeInteger(d![f] + r[f]))) {
      this.write(d);
      d = undefined;
    }
    if (!d) {
      d = { hour: r.hour, model: r.model, provider: r.provider, key_id: r.key_id, user_id: r.user_id, requests: 0, ...ZERO_TOKENS, cost: 0 };
      this.rows.set(k, d);
    }
    d.requests++;
    for (const f of SUMMED) d[f] += r[f];
  }

  flush(): void {
    for (const d of this.rows.values()) this.write(d);
    this.rows.clear();
  }
}

/** A stored record (`team` is "": the ledger is the team's; the caller knows which). */
export type StoredEvent = UsageEvent & { answered: boolean };
/** A stored record with its place and hash in the audit chain, for export. */
export type ExportedEvent = StoredEvent & { seq: number; hash: string };

/** What record() hands on to the budget book: the spend of each new row and of each lease. */
export interface Recorded {
  spend: { created_at: number; hour: string; key_id: string; user: string | null; cost: number }[];
  leaseUse: Map<string, bigint>;
}

const EVENT_COLUMNS = [
  "seq", "id", "created_at", "hour", "key_id", "user_id", "model_requested", "model", "provider", "status", "answered", "streamed",
  "cancelled", "estimated", ...TOKEN_FIELDS, "cost", "ttfb_ms", "latency_ms", "attempts", "content_sha256", "hash", "estimate_method",
  "uncapped_cost",
] as const satisfies readonly (keyof EventRow)[];

/** Rows in a JSON array of arrays, in EVENT_COLUMNS order (one parameter, so a batch of any size is one statement). */
const INSERT_EVENTS = `INSERT INTO events (${EVENT_COLUMNS.join(", ")})
 SELECT ${EVENT_COLUMNS.map((_, i) => `value ->> ${i}`).join(", ")}
 FROM json_each(?)`;

const ROLLUP_KEY = ["hour", "model", "provider", "key_id", "user_id"] as const;
const ROLLUP_COLUMNS = [...ROLLUP_KEY, ...SUMMED, "requests"] as const satisfies readonly (keyof RollupDelta)[];
const UPSERT_ROLLUP = `INSERT INTO rollups (${ROLLUP_COLUMNS.join(", ")})
 VALUES (${ROLLUP_COLUMNS.map(() => "?").join(", ")})
 ON CONFLICT (${ROLLUP_KEY.join(", ")}) DO UPDATE SET
   ${[...SUMMED, "requests"].map((c) => `${c} = ${c} + excluded.${c}`).join(",\n   ")}`;

export class EventBook {
  private head: ChainLink | null = null;

  constructor(private readonly sql: SqlStorage) {}

  /**
   * The last link of the chain (seq 0 and the genesis hash when there is none). Its hash is the stored head's,
   * so a row deleted from the tail breaks the link to the next record; its seq never goes below a row's, so
   * a new record never collides with one already there.
   */
  chainHead(): ChainLink {
    if (!this.head) {
      const stored = getMeta(this.sql, "audit_head");
      const head = stored ? (JSON.parse(stored) as ChainLink) : { seq: 0, hash: GENESIS_HASH };
      const max = this.sql.exec<{ s: number | null }>(`SELECT MAX(seq) AS s FROM events`).one().s ?? 0;
      this.head = { seq: Math.max(head.seq, max), hash: head.hash };
    }
    return this.head;
  }

  /** Where verification starts: the last pruned record, or null when nothing was pruned. */
  chainAnchor(): AuditAnchor | null {
    const stored = getMeta(this.sql, "audit_anchor");
    return stored ? (JSON.parse(stored) as AuditAnchor) : null;
  }

  /** Inserts the new events (call inside a transaction); duplicates by id are ignored. */
  insert(events: readonly UsageEvent[], logContent: boolean): { inserted: number; recorded: Recorded; commit: () => void } {
    let head = this.chainHead();
    const recorded: Recorded = { spend: [], leaseUse: new Map() };
    let inserted = 0;
    const rollups = new RollupDeltas((d) => this.sql.exec(UPSERT_ROLLUP, ...ROLLUP_COLUMNS.map((c) => d[c])));
    // Known ids (a batch sent again after a lost reply) are skipped; one query for the whole batch.
    const known = new Set(
      this.sql
        .exec<{ id: string }>(`SELECT id FROM events WHERE id IN (SELECT value FROM json_each(?))`, JSON.stringify(events.map((e) => e.id)))
        .toArray()
        .map((r) => r.id),
    );
    /** The new rows, as JSON arrays in INSERT_EVENTS's column order: one statement writes them all. */
    const rows: unknown[][] = [];
    for (const e of events) {
      if (known.has(e.id)) continue;
      known.add(e.id);
      const answered = e.status !== "error";
      const hasContent = logContent && (e.prompt != null || e.completion != null);
      const hour = hourBucket(e.created_at);
      const row: EventRow = {
        seq: head.seq + 1,
        id: e.id,
        created_at: e.created_at,
        hour,
        key_id: e.key_id,
        user_id: e.user ?? "",
        model_requested: e.model_requested,
        model: e.model,
        provider: e.provider,
        status: e.status,
        answered: answered ? 1 : 0,
        streamed: e.streamed ? 1 : 0,
        cancelled: e.cancelled ? 1 : 0,
        estimated: e.estimated ? 1 : 0,
        ...tokenColumns(e),
        cost: answered ? e.cost : 0,
        ttfb_ms: e.ttfb_ms,
        latency_ms: e.latency_ms,
        attempts: JSON.stringify(e.attempts),
        content_sha256: hasContent ? sha256Hex(canonicalJson({ prompt: e.prompt ?? null, completion: e.completion ?? null })) : null,
        hash: "",
        estimate_method: e.estimated ? (e.estimate_method ?? null) : null,
        uncapped_cost: answered ? (e.uncapped_cost ?? null) : null,
      };
      row.hash = chainHash(head.hash, auditRecordOf(row));
      rows.push(EVENT_COLUMNS.map((c) => row[c]));
      inserted++;
      head = { seq: row.seq, hash: row.hash };
      if (hasContent) {
        this.sql.exec(`INSERT OR REPLACE INTO content (id, prompt, completion) VALUES (?, ?, ?)`, e.id, e.prompt ?? null, e.completion ?? null);
      }
      for (const l of e.leases ?? []) recorded.leaseUse.set(l, (recorded.leaseUse.get(l) ?? 0n) + BigInt(row.cost));
      if (!answered) continue;
      recorded.spend.push({ created_at: e.created_at, hour, key_id: e.key_id, user: e.user || null, cost: row.cost });
      rollups.add(row);
    }
    // Any conflict here (the ids are new) fails the batch rather than drop a record.
    if (rows.length > 0) this.sql.exec(INSERT_EVENTS, JSON.stringify(rows));
    rollups.flush();
    if (inserted > 0) setMeta(this.sql, "audit_head", JSON.stringify(head));
    const finalHead = head;
    // The in-memory head follows only once the transaction has committed.
    return { inserted, recorded, commit: () => (this.head = finalHead) };
  }

  /** Chains rows recorded before the audit chain existed (schema 1), in seq order; run once by the migration. */
  chainUnhashed(): number {
    let head = this.chainHead();
    let n = 0;
    for (const r of this.sql.exec<EventRow>(`SELECT * FROM events WHERE hash = '' ORDER BY seq`).toArray()) {
      const hash = chainHash(head.hash, auditRecordOf(r));
      this.sql.exec(`UPDATE events SET hash = ? WHERE seq = ?`, hash, r.seq);
      head = { seq: r.seq, hash };
      n++;
    }
    if (n > 0) setMeta(this.sql, "audit_head", JSON.stringify(head));
    this.head = head;
    return n;
  }

  /** Forgets the cached head (after a failed transaction, or a test that edits rows). */
  resetHead(): void {
    this.head = null;
  }

  usage(q: UsageQuery): { totals: UsageTotalsRow; groups: UsageGroupRow[] } {
    const where = ["hour >= ?", "hour <= ?"];
    const binds: SqlStorageValue[] = [q.from_hour, q.to_hour];
    const filters: [string, string | undefined][] = [
      ["key_id", q.key_id],
      ["user_id", q.user],
      ["model", q.model],
      ["provider", q.provider],
    ];
    for (const [col, val] of filters) {
      if (val === undefined) continue;
      where.push(`${col} = ?`);
      binds.push(val);
    }
    const whereSql = where.join(" AND ");
    const totals = toTotals(this.sql.exec(`SELECT ${TOTALS_SQL} FROM rollups WHERE ${whereSql}`, ...binds).one());
    if (q.group_by.length === 0) return { totals, groups: [] };
    const cols = q.group_by.map((g) => `${GROUP_COLUMN[g]} AS g_${g}`);
    const groupSql = q.group_by.map((g) => `g_${g}`).join(", ");
    const rows = this.sql
      .exec(`SELECT ${cols.join(", ")}, ${TOTALS_SQL} FROM rollups WHERE ${whereSql} GROUP BY ${groupSql} ORDER BY ${groupSql}`, ...binds)
      .toArray();
    const groups = rows.map((r) => {
      const g: UsageGroupRow = toTotals(r);
      for (const k of q.group_by) {
        const v = r[`g_${k}`] as string;
        if (k === "user") g.user = v === "" ? null : v;
        else g[k] = v;
      }
      return g;
    });
    return { totals, groups };
  }

  /** Totals of answered requests over [from_hour, to_hour], optionally for one key. */
  totals(from_hour: string, to_hour: string, keyId?: string): UsageTotalsRow {
    const keyFilter = keyId === undefined ? "" : " AND key_id = ?";
    const binds: SqlStorageValue[] = keyId === undefined ? [from_hour, to_hour] : [from_hour, to_hour, keyId];
    return toTotals(this.sql.exec(`SELECT ${TOTALS_SQL} FROM rollups WHERE hour >= ? AND hour <= ?${keyFilter}`, ...binds).one());
  }

  generation(id: string): StoredEvent | null {
    const r = this.sql.exec<EventRow>(`SELECT * FROM events WHERE id = ?`, id).toArray()[0];
    return r ? rowToEvent(r) : null;
  }

  /** The newest records first, those before `before` (a seq) when given; one more than asked tells if there are more. */
  recent(limit: number, before?: number): { events: StoredEvent[]; next: number | null } {
    const rows = this.sql
      .exec<EventRow>(`SELECT * FROM events WHERE seq < ? ORDER BY seq DESC LIMIT ?`, before ?? Number.MAX_SAFE_INTEGER, limit + 1)
      .toArray();
    const page = rows.slice(0, limit);
    return { events: page.map(rowToEvent), next: rows.length > limit ? page.at(-1)!.seq : null };
  }

  /** Per-request records in arrival order after `cursor` (a seq), optionally within [from, to) epoch ms. */
  exportPage(cursor: number, limit: number, from?: number, to?: number): { events: ExportedEvent[]; next: number | null } {
    const rows = this.sql
      .exec<EventRow>(
        `SELECT * FROM events WHERE seq > ? AND created_at >= ? AND created_at < ? ORDER BY seq LIMIT ?`,
        cursor, from ?? 0, to ?? Number.MAX_SAFE_INTEGER, limit,
      )
      .toArray();
    const last = rows.at(-1);
    return { events: rows.map((r) => ({ ...rowToEvent(r), seq: r.seq, hash: r.hash })), next: rows.length === limit && last ? last.seq : null };
  }

  /** The chain, page by page, with the anchor it starts from and the head it must end at. */
  auditPage(cursor: number, limit: number): { anchor: AuditAnchor | null; head: ChainLink; rows: { record: AuditRecord; hash: string }[]; next: number | null } {
    const rows = this.sql.exec<EventRow>(`SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, cursor, limit).toArray();
    const last = rows.at(-1);
    return {
      anchor: this.chainAnchor(),
      head: this.chainHead(),
      rows: rows.map((r) => ({ record: auditRecordOf(r), hash: r.hash })),
      next: rows.length === limit && last ? last.seq : null,
    };
  }

  /** The logged prompt and completion of one request, if its team logs them. */
  content(id: string): { prompt: string | null; completion: string | null } | null {
    const r = this.sql.exec<{ prompt: string | null; completion: string | null }>(`SELECT prompt, completion FROM content WHERE id = ?`, id).toArray()[0];
    return r ?? null;
  }

  /**
   * Deletes the oldest records, up to `maxSeq` and before `beforeHour`, at most `limit` of them; the last one
   * deleted becomes the chain's anchor. Rollups stay. Returns how many rows went.
   */
  prune(beforeHour: string, maxSeq: number, limit: number): number {
    const firstKept = this.sql.exec<{ s: number | null }>(`SELECT MIN(seq) AS s FROM events WHERE hour >= ?`, beforeHour).one().s;
    let upTo = Math.min(maxSeq, firstKept === null ? Number.MAX_SAFE_INTEGER : firstKept - 1);
    const oldest = this.sql.exec<{ s: number | null }>(`SELECT MIN(seq) AS s FROM events`).one().s;
    if (oldest === null || upTo < oldest) return 0;
    const last = this.sql
      .exec<{ seq: number; hash: string }>(`SELECT seq, hash FROM events WHERE seq <= ? ORDER BY seq DESC LIMIT 1 OFFSET 0`, Math.min(upTo, oldest + limit - 1))
      .toArray()[0];
    if (!last) return 0;
    upTo = last.seq;
    // Rollups of hours after this one hold no pruned record: `audit verify` checks them against the records exactly.
    const prunedHour = this.sql.exec<{ h: string }>(`SELECT MAX(hour) AS h FROM events WHERE seq <= ?`, upTo).one().h;
    const before = this.chainAnchor()?.hour;
    const hour = before !== undefined && before > prunedHour ? before : prunedHour;
    this.sql.exec(`DELETE FROM content WHERE id IN (SELECT id FROM events WHERE seq <= ?)`, upTo);
    const n = this.sql.exec(`DELETE FROM events WHERE seq <= ?`, upTo).rowsWritten;
    setMeta(this.sql, "audit_anchor", JSON.stringify({ seq: last.seq, hash: last.hash, hour } satisfies AuditAnchor));
    return n;
  }

  /** Rollups page by page (by rowid), and on the first page every budget window's recorded spend. */
  auditTotals(cursor: number, limit: number): AuditTotalsPage {
    const rows = this.sql
      .exec(
        `SELECT rowid AS rid, ${ROLLUP_KEY.join(", ")}, requests, ${TOKEN_FIELDS.join(", ")}, CAST(cost AS TEXT) AS cost
           FROM rollups WHERE rowid > ? ORDER BY rowid LIMIT ?`,
        cursor, limit,
      )
      .toArray();
    const budget_spend =
      cursor === 0
        ? this.sql.exec(`SELECT bucket, scope, subject, period, label, CAST(spent AS TEXT) AS spent FROM budget_spend ORDER BY bucket`).toArray()
        : [];
    const last = rows.at(-1);
    return {
      rollups: rows.map(({ rid: _r, ...r }) => r as unknown as RollupRow),
      budget_spend: budget_spend as unknown as BudgetSpendRow[],
      next_cursor: rows.length === limit && last ? (last.rid as number) : null,
    };
  }

  lastSeq(): number {
    return this.chainHead().seq;
  }
}

function toTotals(r: Record<string, SqlStorageValue>): UsageTotalsRow {
  const n = (v: SqlStorageValue | undefined) => (typeof v === "number" ? v : 0);
  const totals = { requests: n(r.requests) } as UsageTotalsRow;
  for (const f of TOKEN_FIELDS) totals[f] = n(r[f]);
  totals.cost_subunits = typeof r.cost_subunits === "string" ? r.cost_subunits : "0";
  return totals;
}

/** The hashed form of a stored row; insert() hashes exactly what a later read of the row gives back. */
function auditRecordOf(r: EventRow): AuditRecord {
  return {
    seq: r.seq,
    id: r.id,
    created_at: r.created_at,
    key_id: r.key_id,
    user: r.user_id === "" ? null : r.user_id,
    model_requested: r.model_requested,
    model: r.model,
    provider: r.provider,
    status: r.status,
    streamed: r.streamed === 1,
    cancelled: r.cancelled === 1,
    estimated: r.estimated === 1,
    ...tokenColumns(r),
    cost: r.cost,
    ttfb_ms: r.ttfb_ms,
    latency_ms: r.latency_ms,
    attempts: JSON.parse(r.attempts),
    content_sha256: r.content_sha256 ?? null,
    // Absent rather than null when not set, so records from before these columns hash as they did.
    estimate_method: r.estimate_method ?? undefined,
    uncapped_cost: r.uncapped_cost ?? undefined,
  };
}

function rowToEvent(r: EventRow): StoredEvent {
  const { content_sha256: _c, seq: _s, ...rec } = auditRecordOf(r);
  return { ...rec, team: "", status: r.status as UsageEvent["status"], answered: r.status !== "error" };
}
