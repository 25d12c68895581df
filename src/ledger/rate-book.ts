/**
 * The Ledger's side of rate limits: one token bucket per limit (requests or tokens per minute, per key or
 * per team) that refills continuously at capacity/60 s and holds at most `capacity`. Isolates take tokens
 * in slices and give back what they did not use (or what they owe, when a request used more tokens than it
 * reserved), so a limit holds across isolates without a round trip per request.
 */
const MINUTE_MS = 60_000;
/** One isolate gets at most this share of the tokens in the bucket. */
const SHARE = 2;

export interface RateSpec {
  /** "rpm:key:<id>", "tpm:team:", … */
  bucket: string;
  /** Tokens per minute (requests for rpm). */
  capacity: number;
}

export interface RateAsk {
  spec: RateSpec;
  need: number;
  want: number;
}

export interface RateGiveBack {
  bucket: string;
  /** Unused tokens (positive) or tokens used beyond the reservation (negative). */
  amount: number;
}

export interface RateGrant {
  bucket: string;
  capacity: number;
  /** 0 when refused. */
  granted: number;
  /** Tokens left in the bucket after this grant. */
  remaining: number;
  /** When a refused ask could succeed (ms from now); Infinity if it never can (need > capacity). */
  retry_after_ms: number;
  /** When the bucket will be full again (ms from now). */
  reset_ms: number;
}

interface Row extends Record<string, SqlStorageValue> {
  level: number;
  capacity: number;
  updated_at: number;
}

export class RateBook {
  constructor(private readonly sql: SqlStorage) {}

  private level(bucket: string, capacity: number, now: number): number {
    const r = this.sql.exec<Row>(`SELECT level, capacity, updated_at FROM rate_buckets WHERE bucket = ?`, bucket).toArray()[0];
    if (!r) return capacity;
    return Math.min(capacity, r.level + ((now - r.updated_at) * capacity) / MINUTE_MS);
  }

  private store(bucket: string, level: number, capacity: number, now: number): void {
    this.sql.exec(
      `INSERT INTO rate_buckets (bucket, level, capacity, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (bucket) DO UPDATE SET level = excluded.level, capacity = excluded.capacity, updated_at = excluded.updated_at`,
      bucket, level, capacity, now,
    );
  }

  giveBack(g: RateGiveBack, now: number): void {
    const r = this.sql.exec<Row>(`SELECT level, capacity, updated_at FROM rate_buckets WHERE bucket = ?`, g.bucket).toArray()[0];
    if (!r) return;
    const level = Math.min(r.capacity, r.level + ((now - r.updated_at) * r.capacity) / MINUTE_MS + g.amount);
    this.store(g.bucket, level, r.capacity, now);
  }

  take(ask: RateAsk, now: number): RateGrant {
    const { bucket, capacity } = ask.spec;
    let level = this.level(bucket, capacity, now);
    const perMs = capacity / MINUTE_MS;
    let granted = 0;
    if (level >= ask.need) {
      granted = Math.max(ask.need, Math.min(ask.want, Math.floor(level / SHARE)));
      level -= granted;
    }
    this.store(bucket, level, capacity, now);
    return {
      bucket,
      capacity,
      granted,
      remaining: Math.max(0, Math.floor(level)),
      retry_after_ms: granted > 0 ? 0 : ask.need > capacity ? Infinity : Math.ceil((ask.need - level) / perMs),
      reset_ms: Math.ceil((capacity - level) / perMs),
    };
  }

  peek(spec: RateSpec, now: number): { remaining: number; reset_ms: number } {
    const level = this.level(spec.bucket, spec.capacity, now);
    return { remaining: Math.max(0, Math.floor(level)), reset_ms: Math.ceil(((spec.capacity - level) * MINUTE_MS) / spec.capacity) };
  }
}
