import { envNumber } from "../core/env-number";
import { DurableObject } from "cloudflare:workers";
import { timerNow as clockNow } from "../core/clock";
import type { Env } from "../env";
import type { AuditPage } from "./audit";
import { AuditSeal } from "./audit-seal";
import type { AuditTotalsPage } from "./audit-totals";
import { BudgetBook, type BudgetSpec, type BudgetState, type LeaseAsk, type LeaseGrant, type LeaseReturn, type LeaseShrink } from "./budget-book";
import type { UsageEvent, UsageGroupRow, UsageQuery, UsageTotalsRow } from "./event";
import { hourBucket } from "./event";
import { EventBook, type ExportedEvent, type StoredEvent } from "./event-book";
import { RateBook, type RateAsk, type RateGiveBack, type RateGrant, type RateSpec } from "./rate-book";
import { windowOf } from "./periods";
import { getMeta, migrate, setMeta } from "./schema";

/** One round trip of the budget and rate-limit protocol (see docs/ledger.md). */
export interface AllowanceRequest {
  /** Unreserved parts of leases an isolate stopped reserving from. */
  shrink?: LeaseShrink[];
  /** Leases an isolate is done with, and what it spent under each. */
  returns?: LeaseReturn[];
  budgets?: LeaseAsk[];
  /** Rate tokens an isolate did not use (or used beyond its reservations). */
  rate_returns?: RateGiveBack[];
  rates?: RateAsk[];
}

export interface AllowanceReply {
  budgets: LeaseGrant[];
  rates: RateGrant[];
}

export interface RetentionConfig {
  /** Raw per-request records older than this are pruned (rollups are kept). 0 = keep forever. */
  days: number;
  /** Never prune a record before an export has acknowledged it (the export watermark). */
  require_export: boolean;
}

const PRUNE_INTERVAL_MS = 3_600_000;
const PRUNE_CHUNK = 20_000;

/** Test hooks, set only through runInDurableObject: fail record() calls to exercise retries. */
export interface LedgerFaults {
  /** Throw before writing, this many times. */
  failBefore?: number;
  /** Write, then throw (the caller sees an error for a write that happened), this many times. */
  failAfter?: number;
}

/**
 * The per-team ledger: every usage event with its audit hash, hourly rollups kept exact alongside them,
 * budget windows and the leases isolates spend them through, rate-limit buckets, and the retention alarm.
 */
export class Ledger extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly events: EventBook;
  private readonly budgets: BudgetBook;
  private readonly rates: RateBook;
  private readonly seal: AuditSeal;
  private alarmChecked = false;
  faults: LedgerFaults = {};

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.events = new EventBook(this.sql);
    this.budgets = new BudgetBook(this.sql);
    this.rates = new RateBook(this.sql);
    // The key is the Worker's secret, not the object's storage: see audit-seal.ts.
    const key = typeof env.AUDIT_SIGNING_KEY === "string" && env.AUDIT_SIGNING_KEY !== "" ? env.AUDIT_SIGNING_KEY : undefined;
    this.seal = new AuditSeal(this.sql, key, ctx.id.toString());
    void ctx.blockConcurrencyWhile(async () => {
      // Records written before the audit chain (schema 1) join it, in their order, on first start.
      migrate(ctx.storage, (from) => {
        if (from !== 1) return;
        const prior = this.seal.prior();
        this.events.chainUnhashed();
        this.seal.seal(prior);
      });
    });
  }

  /** Records events idempotently by request id; returns how many were new. */
  record(events: UsageEvent[]): { inserted: number; duplicates: number } {
    if (this.faults.failBefore) {
      this.faults.failBefore--;
      throw new Error("injected ledger failure before write");
    }
    let inserted = 0;
    try {
      this.ctx.storage.transactionSync(() => {
        const prior = this.seal.prior();
        const r = this.events.insert(events, true);
        this.budgets.onRecorded(r.recorded.spend, r.recorded.leaseUse);
        inserted = r.inserted;
        if (r.inserted > 0) this.seal.seal(prior);
        r.commit();
      });
    } catch (err) {
      this.events.resetHead();
      throw err;
    }
    if (!this.alarmChecked) void this.ensureAlarm();
    if (this.faults.failAfter) {
      this.faults.failAfter--;
      throw new Error("injected ledger failure after write");
    }
    return { inserted, duplicates: events.length - inserted };
  }

  /** Leases, returns and rate tokens in one transaction. */
  allowances(req: AllowanceRequest): AllowanceReply {
    const now = clockNow();
    return this.ctx.storage.transactionSync(() => {
      for (const s of req.shrink ?? []) this.budgets.shrink(s);
      for (const r of req.returns ?? []) this.budgets.giveBack(r, now);
      for (const g of req.rate_returns ?? []) this.rates.giveBack(g, now);
      const budgets = (req.budgets ?? []).map((a) => this.budgets.grant(a, now));
      const rates = (req.rates ?? []).map((a) => this.rates.take(a, now));
      if (budgets.length > 0 && !this.alarmChecked) void this.ensureAlarm();
      return { budgets, rates };
    });
  }

  budgetStates(specs: BudgetSpec[]): BudgetState[] {
    const now = clockNow();
    return this.ctx.storage.transactionSync(() => specs.map((s) => this.budgets.state(s, now)));
  }

  rateStates(specs: RateSpec[]): { bucket: string; capacity: number; remaining: number; reset_ms: number }[] {
    const now = clockNow();
    return specs.map((s) => ({ bucket: s.bucket, capacity: s.capacity, ...this.rates.peek(s, now) }));
  }

  /** A key's spend (all time, this UTC day, week and month), its budget windows and its rate buckets. */
  keyReport(keyId: string, specs: BudgetSpec[], rates: RateSpec[], at: number) {
    const now = Date.now();
    const span = (p: "day" | "week" | "month") => {
      const w = windowOf(p, at);
      return this.events.totals(w.from_hour, w.to_hour, keyId);
    };
    return this.ctx.storage.transactionSync(() => ({
      total: this.events.totals("0000", "9999", keyId),
      day: span("day"),
      week: span("week"),
      month: span("month"),
      budgets: specs.map((s) => this.budgets.state(s, now)),
      rates: rates.map((s) => ({ bucket: s.bucket, capacity: s.capacity, ...this.rates.peek(s, now) })),
    }));
  }

  usage(q: UsageQuery): { totals: UsageTotalsRow; groups: UsageGroupRow[] } {
    return this.events.usage(q);
  }

  totals(fromHour: string, toHour: string, keyId?: string): UsageTotalsRow {
    return this.events.totals(fromHour, toHour, keyId);
  }

  generation(id: string): StoredEvent | null {
    return this.events.generation(id);
  }

  recent(limit: number, before?: number): { events: StoredEvent[]; next: number | null } {
    return this.events.recent(limit, before);
  }

  content(id: string): { prompt: string | null; completion: string | null } | null {
    return this.events.content(id);
  }

  exportPage(cursor: number, limit: number, from?: number, to?: number): { events: ExportedEvent[]; next: number | null } {
    return this.events.exportPage(cursor, limit, from, to);
  }

  /** One page of the chain, with the seal's state (checked here, where the key is) and the retention in force. */
  auditPage(cursor: number, limit: number): Omit<AuditPage, "records" | "next_cursor"> & { rows: AuditPage["records"]; next: number | null } {
    const { watermark, days, require_export } = this.retention();
    return { ...this.events.auditPage(cursor, limit), seal: this.seal.state(), retention: { days, require_export, watermark }, now: Date.now() };
  }

  /** Rollups and budget windows, for `audit verify` to recompute from the records. */
  auditTotals(cursor: number, limit: number): AuditTotalsPage {
    return this.events.auditTotals(cursor, limit);
  }

  /** An export consumer confirms it has stored every record up to `seq`; pruning may then take them. */
  ackExport(seq: number): { watermark: number } {
    const current = Number(getMeta(this.sql, "export_watermark") ?? 0);
    const watermark = Math.max(current, Math.min(seq, this.events.lastSeq()));
    setMeta(this.sql, "export_watermark", String(watermark));
    return { watermark };
  }

  retention(): RetentionConfig & { watermark: number } {
    const stored = getMeta(this.sql, "retention");
    const fromEnv: RetentionConfig = {
      days: envNumber(this.env, "LEDGER_RETENTION_DAYS", 0),
      require_export: ["on", "true", "1"].includes(String(this.env.LEDGER_EXPORT_REQUIRED ?? "")),
    };
    const cfg = stored ? (JSON.parse(stored) as RetentionConfig) : fromEnv;
    return { ...cfg, watermark: Number(getMeta(this.sql, "export_watermark") ?? 0) };
  }

  /** Overrides the environment's retention settings for this team. */
  async setRetention(cfg: RetentionConfig): Promise<void> {
    setMeta(this.sql, "retention", JSON.stringify(cfg));
    await this.ensureAlarm();
  }

  private async ensureAlarm(): Promise<void> {
    this.alarmChecked = true;
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + PRUNE_INTERVAL_MS);
  }

  /** Hourly: prune raw records past retention (never past the export watermark when export is required), and leases. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const cfg = this.retention();
    let pruned = 0;
    this.ctx.storage.transactionSync(() => {
      this.budgets.prune(now);
      if (cfg.days > 0) {
        const before = hourBucket(now - cfg.days * 86_400_000);
        const prior = this.seal.prior();
        pruned = this.events.prune(before, cfg.require_export ? cfg.watermark : Number.MAX_SAFE_INTEGER, PRUNE_CHUNK);
        if (pruned > 0) this.seal.seal(prior);
      }
    });
    await this.ctx.storage.setAlarm(now + (pruned >= PRUNE_CHUNK ? 1_000 : PRUNE_INTERVAL_MS));
  }
}
