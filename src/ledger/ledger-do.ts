import { DurableObject } from "cloudflare:workers";
import type { UsageEvent, UsageGroup, UsageGroupRow, UsageQuery, UsageTotalsRow } from "./event";
import { hourBucket } from "./event";

const SCHEMA_VERSION = 1;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  // One row per request that reached a provider; `answered` = some provider answered (billed, counted).
  `CREATE TABLE IF NOT EXISTS events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     created_at INTEGER NOT NULL,
     hour TEXT NOT NULL,
     key_id TEXT NOT NULL,
     user_id TEXT NOT NULL,
     model_requested TEXT NOT NULL,
     model TEXT NOT NULL,
     provider TEXT NOT NULL,
     status TEXT NOT NULL,
     answered INTEGER NOT NULL,
     streamed INTEGER NOT NULL,
     cancelled INTEGER NOT NULL,
     estimated INTEGER NOT NULL,
     prompt_tokens INTEGER NOT NULL,
     completion_tokens INTEGER NOT NULL,
     cached_tokens INTEGER NOT NULL,
     cache_write_tokens INTEGER NOT NULL,
     reasoning_tokens INTEGER NOT NULL,
     cost INTEGER NOT NULL,
     ttfb_ms INTEGER,
     latency_ms INTEGER NOT NULL,
     attempts TEXT NOT NULL
   )`,
  `CREATE INDEX IF NOT EXISTS events_hour ON events (hour)`,
  // Hourly rollups of answered requests; updated in the same transaction as the event row.
  `CREATE TABLE IF NOT EXISTS rollups (
     hour TEXT NOT NULL,
     model TEXT NOT NULL,
     provider TEXT NOT NULL,
     key_id TEXT NOT NULL,
     user_id TEXT NOT NULL,
     requests INTEGER NOT NULL,
     prompt_tokens INTEGER NOT NULL,
     completion_tokens INTEGER NOT NULL,
     cached_tokens INTEGER NOT NULL,
     cache_write_tokens INTEGER NOT NULL,
     reasoning_tokens INTEGER NOT NULL,
     cost INTEGER NOT NULL,
     PRIMARY KEY (hour, model, provider, key_id, user_id)
   )`,
];

const GROUP_COLUMN: Record<UsageGroup, string> = {
  day: "substr(hour, 1, 10)",
  hour: "hour",
  model: "model",
  provider: "provider",
  key: "key_id",
  user: "user_id",
};

const TOTALS_SQL = `COUNT(*) AS n, SUM(requests) AS requests, SUM(prompt_tokens) AS prompt_tokens,
  SUM(completion_tokens) AS completion_tokens, SUM(cached_tokens) AS cached_tokens,
  SUM(cache_write_tokens) AS cache_write_tokens, SUM(reasoning_tokens) AS reasoning_tokens,
  CAST(COALESCE(SUM(cost), 0) AS TEXT) AS cost_subunits`;

interface EventRow extends Record<string, SqlStorageValue> {
  id: string;
  created_at: number;
  key_id: string;
  user_id: string;
  model_requested: string;
  model: string;
  provider: string;
  status: string;
  streamed: number;
  cancelled: number;
  estimated: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  cost: number;
  ttfb_ms: number | null;
  latency_ms: number;
  attempts: string;
}

/** The per-team spend ledger: every usage event, and hourly rollups kept exact alongside them. */
export class Ledger extends DurableObject {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => this.migrate());
  }

  private migrate(): void {
    this.sql.exec(SCHEMA[0]!);
    const row = this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'schema'`).toArray()[0];
    if (row && Number(row.value) >= SCHEMA_VERSION) return;
    this.ctx.storage.transactionSync(() => {
      for (const stmt of SCHEMA) this.sql.exec(stmt);
      this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)`, String(SCHEMA_VERSION));
    });
  }

  /** Records events idempotently by request id; returns how many were new. */
  record(events: UsageEvent[]): { inserted: number; duplicates: number } {
    let inserted = 0;
    this.ctx.storage.transactionSync(() => {
      for (const e of events) {
        const hour = hourBucket(e.created_at);
        const answered = e.status !== "error";
        // RETURNING, not rowsWritten: with AUTOINCREMENT an ignored insert still writes sqlite_sequence.
        const added = this.sql.exec(
          `INSERT INTO events (id, created_at, hour, key_id, user_id, model_requested, model, provider,
             status, answered, streamed, cancelled, estimated, prompt_tokens, completion_tokens, cached_tokens,
             cache_write_tokens, reasoning_tokens, cost, ttfb_ms, latency_ms, attempts)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO NOTHING RETURNING seq`,
          e.id, e.created_at, hour, e.key_id, e.user ?? "", e.model_requested, e.model, e.provider,
          e.status, answered ? 1 : 0, e.streamed ? 1 : 0, e.cancelled ? 1 : 0, e.estimated ? 1 : 0,
          e.prompt_tokens, e.completion_tokens, e.cached_tokens, e.cache_write_tokens, e.reasoning_tokens,
          answered ? e.cost : 0, e.ttfb_ms, e.latency_ms, JSON.stringify(e.attempts),
        ).toArray();
        if (added.length === 0) continue;
        inserted++;
        if (!answered) continue;
        this.sql.exec(
          `INSERT INTO rollups (hour, model, provider, key_id, user_id, requests, prompt_tokens, completion_tokens,
             cached_tokens, cache_write_tokens, reasoning_tokens, cost)
           VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (hour, model, provider, key_id, user_id) DO UPDATE SET
             requests = requests + 1,
             prompt_tokens = prompt_tokens + excluded.prompt_tokens,
             completion_tokens = completion_tokens + excluded.completion_tokens,
             cached_tokens = cached_tokens + excluded.cached_tokens,
             cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
             reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
             cost = cost + excluded.cost`,
          hour, e.model, e.provider, e.key_id, e.user ?? "",
          e.prompt_tokens, e.completion_tokens, e.cached_tokens, e.cache_write_tokens, e.reasoning_tokens, e.cost,
        );
      }
    });
    return { inserted, duplicates: events.length - inserted };
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

  generation(id: string): (UsageEvent & { answered: boolean }) | null {
    const r = this.sql.exec<EventRow>(`SELECT * FROM events WHERE id = ?`, id).toArray()[0];
    return r ? rowToEvent(r) : null;
  }

  /** Per-request records in arrival order after `cursor` (a seq), for export. */
  exportPage(cursor: number, limit: number): { events: (UsageEvent & { seq: number })[]; next: number | null } {
    const rows = this.sql
      .exec<EventRow & { seq: number }>(`SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, cursor, limit)
      .toArray();
    const events = rows.map((r) => ({ ...rowToEvent(r), seq: r.seq }));
    const last = rows.at(-1);
    return { events, next: rows.length === limit && last ? last.seq : null };
  }

  /** Spend of answered requests for one key (all time), for /v1/key. */
  keySpend(keyId: string): UsageTotalsRow {
    return toTotals(this.sql.exec(`SELECT ${TOTALS_SQL} FROM rollups WHERE key_id = ?`, keyId).one());
  }
}

function toTotals(r: Record<string, SqlStorageValue>): UsageTotalsRow {
  const n = (v: SqlStorageValue) => (typeof v === "number" ? v : 0);
  return {
    requests: n(r.requests!),
    prompt_tokens: n(r.prompt_tokens!),
    completion_tokens: n(r.completion_tokens!),
    cached_tokens: n(r.cached_tokens!),
    cache_write_tokens: n(r.cache_write_tokens!),
    reasoning_tokens: n(r.reasoning_tokens!),
    cost_subunits: typeof r.cost_subunits === "string" ? r.cost_subunits : "0",
  };
}

function rowToEvent(r: EventRow): UsageEvent & { answered: boolean } {
  return {
    id: r.id,
    team: "",
    key_id: r.key_id,
    user: r.user_id === "" ? null : r.user_id,
    model_requested: r.model_requested,
    model: r.model,
    provider: r.provider,
    status: r.status as UsageEvent["status"],
    answered: r.status !== "error",
    streamed: r.streamed === 1,
    cancelled: r.cancelled === 1,
    estimated: r.estimated === 1,
    prompt_tokens: r.prompt_tokens,
    completion_tokens: r.completion_tokens,
    cached_tokens: r.cached_tokens,
    cache_write_tokens: r.cache_write_tokens,
    reasoning_tokens: r.reasoning_tokens,
    cost: r.cost,
    ttfb_ms: r.ttfb_ms,
    latency_ms: r.latency_ms,
    created_at: r.created_at,
    attempts: JSON.parse(r.attempts),
  };
}
