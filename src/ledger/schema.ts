/**
 * The Ledger's SQLite schema, as numbered steps: a Durable Object created at an older version runs the steps
 * after its stored version, once, inside `blockConcurrencyWhile`. The steps are history, so their columns are
 * written out rather than derived from TOKEN_FIELDS: a new count would be a new step.
 */
export const SCHEMA_STEPS: readonly (readonly string[])[] = [
  // 1: events and hourly rollups
  [
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
    // Hourly rollups of answered requests; updated in the same transaction as the event row. Never pruned.
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
  ],
  // 2: audit chain, logged content, budgets, leases, rate buckets
  [
    `ALTER TABLE events ADD COLUMN hash TEXT NOT NULL DEFAULT ''`,
    `ALTER TABLE events ADD COLUMN content_sha256 TEXT`,
    // Prompts and completions, only for teams whose policy sets data.log_prompts; pruned with the events.
    `CREATE TABLE IF NOT EXISTS content (id TEXT PRIMARY KEY, prompt TEXT, completion TEXT)`,
    `CREATE INDEX IF NOT EXISTS rollups_key ON rollups (key_id, hour)`,
    `CREATE INDEX IF NOT EXISTS rollups_user ON rollups (user_id, hour)`,
    // Recorded spend of one budget window (team, a key or a user; day/week/month/total), kept current by
    // record() once the window has been asked for; seeded from the rollups when first asked for.
    `CREATE TABLE IF NOT EXISTS budget_spend (
       bucket TEXT PRIMARY KEY,
       scope TEXT NOT NULL,
       subject TEXT NOT NULL,
       period TEXT NOT NULL,
       label TEXT NOT NULL,
       ends_at INTEGER,
       spent INTEGER NOT NULL
     )`,
    // Slices of a budget leased to isolates. Held = amount − used while open, spent − used once returned
    // (used = cost of the lease's requests recorded so far). An open lease past expires_at holds nothing.
    `CREATE TABLE IF NOT EXISTS leases (
       id TEXT PRIMARY KEY,
       bucket TEXT NOT NULL,
       amount INTEGER NOT NULL,
       used INTEGER NOT NULL DEFAULT 0,
       spent INTEGER,
       granted_at INTEGER NOT NULL,
       reserve_until INTEGER NOT NULL,
       expires_at INTEGER NOT NULL,
       returned_at INTEGER
     )`,
    `CREATE INDEX IF NOT EXISTS leases_bucket ON leases (bucket)`,
    // Token buckets for requests and tokens per minute.
    `CREATE TABLE IF NOT EXISTS rate_buckets (
       bucket TEXT PRIMARY KEY,
       level REAL NOT NULL,
       capacity REAL NOT NULL,
       updated_at INTEGER NOT NULL
     )`,
  ],
  // 3: how an estimate was made; the full price of counts that went past the request's reservation
  [`ALTER TABLE events ADD COLUMN estimate_method TEXT`, `ALTER TABLE events ADD COLUMN uncapped_cost INTEGER`],
];

export const SCHEMA_VERSION = SCHEMA_STEPS.length;

/**
 * Brings the schema to SCHEMA_VERSION; `afterSteps` runs in the same transaction once the tables exist (data
 * backfills, given the version the object was at). Returns that version.
 */
export function migrate(storage: DurableObjectStorage, afterSteps: (from: number) => void = () => {}): number {
  const sql = storage.sql;
  sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
  const row = sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'schema'`).toArray()[0];
  const current = row ? Number(row.value) : 0;
  if (current >= SCHEMA_VERSION) return current;
  storage.transactionSync(() => {
    for (let v = current; v < SCHEMA_VERSION; v++) for (const stmt of SCHEMA_STEPS[v]!) sql.exec(stmt);
    afterSteps(current);
    sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)`, String(SCHEMA_VERSION));
  });
  return current;
}

export function getMeta(sql: SqlStorage, key: string): string | null {
  return sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = ?`, key).toArray()[0]?.value ?? null;
}

export function setMeta(sql: SqlStorage, key: string, value: string): void {
  sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`, key, value);
}

/** A picodollar amount bound into SQL exactly (SqlStorage binds numbers as doubles). */
export function big(v: bigint): string {
  return v.toString();
}

/** Reads an INTEGER column selected as `CAST(x AS TEXT)`. */
export function readBig(v: SqlStorageValue | undefined): bigint {
  return typeof v === "string" && v !== "" ? BigInt(v) : typeof v === "number" ? BigInt(v) : 0n;
}
