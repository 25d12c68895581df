import { DurableObject } from "cloudflare:workers";
import { now as clockNow } from "../core/clock";
import type { Env } from "../env";
import { applyReport, circuitConfig, newRecord, type CircuitRecord, type HealthReport } from "./circuit";

const SCHEMA_VERSION = 1;
/** Records untouched this long are dropped (a model no longer routed to). */
const STALE_MS = 7 * 86_400_000;

/**
 * Health shared by every isolate: one object (`idFromName("global")`) that folds the outcome reports of all
 * isolates into one circuit record per provider+model, with the same transitions the isolates run, and
 * answers each batch of reports with the whole current picture. Isolates call it off the critical path
 * (under waitUntil, about once a second while they have traffic); see docs/routing.md.
 */
export class Health extends DurableObject<Env> {
  private records = new Map<string, CircuitRecord>();
  /** Half-open probes in flight anywhere, by key: which isolate holds it, and until when the claim holds. */
  private probes = new Map<string, { holder: string; until: number }>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      const sql = ctx.storage.sql;
      sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
      const row = sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'schema'`).toArray()[0];
      if (Number(row?.value ?? 0) < SCHEMA_VERSION) {
        sql.exec(`CREATE TABLE IF NOT EXISTS circuits (key TEXT PRIMARY KEY, record TEXT NOT NULL, updated_at INTEGER NOT NULL)`);
        sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)`, String(SCHEMA_VERSION));
      }
      sql.exec(`DELETE FROM circuits WHERE updated_at < ?`, Date.now() - STALE_MS);
      for (const r of sql.exec<{ key: string; record: string }>(`SELECT key, record FROM circuits`)) {
        this.records.set(r.key, JSON.parse(r.record) as CircuitRecord);
      }
    });
  }

  /** Folds a batch of reports in (oldest first) and returns every record. */
  report(reports: HealthReport[]): Record<string, CircuitRecord> {
    const cfg = circuitConfig(this.env);
    const changed = new Set<string>();
    for (const r of [...reports].sort((a, b) => a.at - b.at)) {
      let rec = this.records.get(r.key);
      if (!rec) this.records.set(r.key, (rec = newRecord(r.at)));
      applyReport(rec, r, cfg);
      changed.add(r.key);
      // A probe's outcome ends its claim.
      if (r.probe) this.probes.delete(r.key);
    }
    if (changed.size > 0) {
      this.ctx.storage.transactionSync(() => {
        for (const key of changed) {
          const rec = this.records.get(key)!;
          this.ctx.storage.sql.exec(
            `INSERT OR REPLACE INTO circuits (key, record, updated_at) VALUES (?, ?, ?)`,
            key,
            JSON.stringify(rec),
            rec.updatedAt,
          );
        }
      });
    }
    return Object.fromEntries(this.records);
  }

  /**
   * One probe at a time across all isolates: grants the half-open circuit's probe to the first caller until
   * its outcome is reported (or released, or `ttlMs` passes: an isolate that died with it), and answers
   * with the current record so a caller learns a circuit another probe has meanwhile closed. The isolate
   * that holds a claim may claim again: it knows its own probe ended before its report reaches here.
   */
  claimProbe(key: string, ttlMs: number, holder: string): { granted: boolean; record: CircuitRecord | null } {
    const now = clockNow();
    const record = this.records.get(key) ?? null;
    const held = this.probes.get(key);
    if (held !== undefined && held.until > now && held.holder !== holder) return { granted: false, record };
    this.probes.set(key, { holder, until: now + ttlMs });
    return { granted: true, record };
  }

  /** Gives a probe back without an outcome (its client went away). */
  releaseProbe(key: string): void {
    this.probes.delete(key);
  }

  snapshot(): Record<string, CircuitRecord> {
    return Object.fromEntries(this.records);
  }
}
