import { setTimer, timerNow as clockNow } from "../core/clock";
import {
  RefusedError,
  type BudgetRefusalState, type Hold, type LedgerCall, type RateNeed, type Refusal, type ReserveOptions,
} from "./allowance-types";
import type { BudgetSpec, LeaseReturn, LeaseShrink } from "./budget-book";
import type { AllowanceRequest } from "./ledger-do";
import type { RateGiveBack } from "./rate-book";

export { RefusedError, type Hold, type LedgerCall, type RateNeed, type Refusal, type ReserveOptions };

/**
 * The isolate's side of budgets and rate limits. It holds slices leased from each team's Ledger and
 * reserves from them locally, so a request pays a Durable Object round trip only when a slice runs out (one
 * call per team at a time; requests that miss meanwhile wait for it and look again).
 *
 * Exactness: a reservation is taken from a slice only if the slice's free amount covers it, synchronously
 * after the check. A slice that cannot take a reservation is retired: its free part goes back to the
 * Ledger with the next call, and once its last request settles the lease is returned with the exact total
 * spent under it. A request that used more than it reserved (a provider reported more prompt tokens than
 * the estimate) overdraws its slice; the overdraft is returned as spend like the rest.
 */

/** Rate tokens taken from the Ledger are used within this window, then what is left goes back. */
const RATE_WINDOW_MS = 2_000;
/** A request waits this long for another's Ledger call before making its own, looking every POLL_MS. */
const WAIT_FOR_CALL_MS = 3_000;
const POLL_MS = 1;
/** A slice is refilled ahead when its window has less than this left. */
const AHEAD_MS = 2_000;
/** A refused budget is not asked again for a bigger reservation within this time. */
const DENIED_TTL_MS = 1_000;

interface Slice {
  team: string;
  leaseId: string;
  bucket: string;
  amount: bigint;
  reserved: bigint;
  spent: bigint;
  inflight: number;
  reserveUntil: number;
  retired: boolean;
  returned: boolean;
}

interface RateSlice {
  bucket: string;
  tokens: number;
  /** Tokens the Ledger granted for this slice. */
  granted: number;
  until: number;
}

interface TeamState {
  slices: Map<string, Slice>;
  rates: Map<string, RateSlice>;
  /** Piggybacked on the next call. */
  shrink: LeaseShrink[];
  returns: LeaseReturn[];
  rateReturns: Map<string, number>;
  /** Last grant per bucket, to size the next ask. */
  lastGrant: Map<string, { amount: bigint | number; at: number }>;
  denied: Map<string, { state: BudgetRefusalState; until: number }>;
  /** Set while one request's Ledger call for the team is in flight. */
  call: object | null;
}

const NO_HOLD: Hold = { leases: [], settle: () => null };

export class Allowances {
  private readonly teams = new Map<string, TeamState>();
  /** Reservations served, and Ledger round trips taken for them (reserve path) and for returns. */
  readonly stats = { reservations: 0, calls: 0, returnCalls: 0 };

  constructor(private call: LedgerCall, private readonly newId: () => string = () => crypto.randomUUID()) {}

  /**
   * The Ledger client to use from now on. The gateway passes one built on the current request's bindings,
   * so no call goes through bindings of a request that has ended.
   */
  useLedger(call: LedgerCall): this {
    this.call = call;
    return this;
  }

  private team(team: string): TeamState {
    let t = this.teams.get(team);
    if (!t) {
      t = { slices: new Map(), rates: new Map(), shrink: [], returns: [], rateReturns: new Map(), lastGrant: new Map(), denied: new Map(), call: null };
      this.teams.set(team, t);
    }
    return t;
  }

  /**
   * Reserves `amount` picodollars in every budget window and `need.amount` tokens in every rate bucket, or
   * throws RefusedError. With nothing to reserve it costs nothing.
   */
  async reserve(team: string, budgets: readonly BudgetSpec[], amount: bigint, rates: readonly RateNeed[], opts: ReserveOptions = {}): Promise<Hold> {
    if (budgets.length === 0 && rates.length === 0) return NO_HOLD;
    const t = this.team(team);
    const { maxRequestMs } = opts;
    for (;;) {
      const now = clockNow();
      const missB = budgets.filter((s) => !this.fitsBudget(t, s, amount, now));
      const missR = rates.filter((r) => !this.fitsRate(t, r, now));
      if (missB.length === 0 && missR.length === 0) {
        const hold = this.take(t, budgets, amount, rates);
        this.refillAhead(team, t, budgets, amount, rates, now, opts);
        return hold;
      }
      for (const s of missB) {
        const d = t.denied.get(s.bucket);
        if (d && d.until > now && amount > d.state.available) throw new RefusedError({ kind: "budget", spec: s, need: amount, state: d.state });
      }
      if (t.call) {
        // Another request's call is in flight: look again when it is done. Polled, not awaited: a promise of
        // another request must not be awaited (the runtime ties it to that request), and that request may
        // be cancelled, so not forever either.
        const call = t.call;
        const until = now + WAIT_FOR_CALL_MS;
        while (t.call === call && clockNow() < until) await delay(POLL_MS);
        if (t.call === call) t.call = null;
        continue;
      }
      const call = {};
      t.call = call;
      let refusal: Refusal | null;
      try {
        refusal = await this.refill(team, t, missB, amount, missR, now, maxRequestMs);
      } finally {
        if (t.call === call) t.call = null;
      }
      if (refusal) throw new RefusedError(refusal);
      // Take at once, before another request can use the fresh slices.
      const now2 = clockNow();
      if (budgets.every((s) => this.fitsBudget(t, s, amount, now2)) && rates.every((r) => this.fitsRate(t, r, now2))) {
        const hold = this.take(t, budgets, amount, rates);
        this.refillAhead(team, t, budgets, amount, rates, now2, opts);
        return hold;
      }
    }
  }

  private fitsBudget(t: TeamState, spec: BudgetSpec, amount: bigint, now: number): boolean {
    if (amount <= 0n) return true;
    const s = t.slices.get(spec.bucket);
    return !!s && !s.retired && s.reserveUntil > now && s.amount - s.reserved - s.spent >= amount;
  }

  private fitsRate(t: TeamState, r: RateNeed, now: number): boolean {
    if (r.amount <= 0) return true;
    const s = t.rates.get(r.spec.bucket);
    return !!s && s.until > now && s.tokens >= r.amount;
  }

  private take(t: TeamState, budgets: readonly BudgetSpec[], amount: bigint, rates: readonly RateNeed[]): Hold {
    this.stats.reservations++;
    const taken: Slice[] = [];
    if (amount > 0n) {
      for (const spec of budgets) {
        const s = t.slices.get(spec.bucket)!;
        s.reserved += amount;
        s.inflight++;
        taken.push(s);
      }
    }
    const takenRates: { bucket: string; amount: number }[] = [];
    for (const r of rates) {
      if (r.amount <= 0) continue;
      t.rates.get(r.spec.bucket)!.tokens -= r.amount;
      takenRates.push({ bucket: r.spec.bucket, amount: r.amount });
    }
    let settled = false;
    return {
      leases: taken.map((s) => s.leaseId),
      settle: (cost, tokens) => {
        if (settled) return null;
        settled = true;
        for (const s of taken) {
          s.reserved -= amount;
          s.spent += cost;
          s.inflight--;
        }
        for (const r of takenRates) {
          // Token buckets get back what a request did not use; request buckets keep the request.
          if (!r.bucket.startsWith("tpm:")) continue;
          const back = r.amount - tokens;
          const cur = t.rates.get(r.bucket);
          if (cur && cur.until > clockNow()) cur.tokens += back;
          else t.rateReturns.set(r.bucket, (t.rateReturns.get(r.bucket) ?? 0) + back);
        }
        return this.retireIdle(t, taken);
      },
    };
  }

  /** Returns leases whose window is over and whose last request has settled; the call goes under waitUntil. */
  private retireIdle(t: TeamState, slices: readonly Slice[]): Promise<void> | null {
    const now = clockNow();
    let any = false;
    for (const s of slices) {
      if (s.inflight > 0 || s.returned) continue;
      if (!s.retired && s.reserveUntil > now) continue;
      this.retire(t, s);
      any = true;
    }
    return any ? this.flush(slices[0]!.team, t) : null;
  }

  /** Stops reserving from a slice: gives back its free part now, or returns the lease if nothing runs on it. */
  private retire(t: TeamState, s: Slice): void {
    if (t.slices.get(s.bucket) === s) t.slices.delete(s.bucket);
    if (s.inflight === 0) {
      if (!s.returned) {
        s.returned = true;
        t.returns.push({ lease_id: s.leaseId, spent: s.spent });
        t.denied.delete(s.bucket);
      }
      return;
    }
    if (s.retired) return;
    s.retired = true;
    const free = s.amount - s.reserved - s.spent;
    if (free > 0n) {
      s.amount -= free;
      t.shrink.push({ lease_id: s.leaseId, by: free });
      t.denied.delete(s.bucket);
    }
  }

  /** Sends pending returns (settles of retired leases) when no reservation is on its way to carry them. */
  private async flush(team: string, t: TeamState): Promise<void> {
    if (t.shrink.length === 0 && t.returns.length === 0 && t.rateReturns.size === 0) return;
    const req = this.drainPending(t);
    this.stats.returnCalls++;
    try {
      await this.call(team, req);
    } catch (err) {
      // Leases the Ledger never hears back from expire there; nothing is over-counted, only held longer.
      console.error(JSON.stringify({ msg: "lease return failed", team, error: String(err) }));
    }
  }

  private drainPending(t: TeamState): AllowanceRequest {
    const req: AllowanceRequest = {};
    if (t.shrink.length) req.shrink = t.shrink.splice(0);
    if (t.returns.length) req.returns = t.returns.splice(0);
    if (t.rateReturns.size) {
      req.rate_returns = [...t.rateReturns].map(([bucket, amount]): RateGiveBack => ({ bucket, amount }));
      t.rateReturns.clear();
    }
    return req;
  }

  /**
   * Starts a refill, under the request's waitUntil, of the slices this reservation left low (a quarter or less
   * of their grant, or their window nearly over), so the next requests find fresh slices instead of waiting.
   */
  private refillAhead(team: string, t: TeamState, budgets: readonly BudgetSpec[], amount: bigint, rates: readonly RateNeed[], now: number, opts: ReserveOptions): void {
    if (t.call || !opts.waitUntil) return;
    const lowB = budgets.filter((spec) => {
      const s = t.slices.get(spec.bucket);
      return amount > 0n && !!s && (s.amount - s.reserved - s.spent < s.amount / 4n || s.reserveUntil - now < AHEAD_MS);
    });
    const lowR = rates.filter((r) => {
      const s = t.rates.get(r.spec.bucket);
      return r.amount > 0 && !!s && (s.tokens < s.granted / 4 || s.until - now < AHEAD_MS / 4);
    });
    if (lowB.length === 0 && lowR.length === 0) return;
    const call = {};
    t.call = call;
    const done = this.refill(team, t, lowB, amount, lowR, now, opts.maxRequestMs, true)
      .catch(() => null)
      .finally(() => {
        if (t.call === call) t.call = null;
      });
    opts.waitUntil(done);
  }

  /**
   * Asks the Ledger for slices. Refilling on a miss, the old slices are retired first (their free part goes
   * back in this call); refilling ahead, they keep serving until the new ones arrive.
   */
  private async refill(
    team: string, t: TeamState, budgets: readonly BudgetSpec[], amount: bigint, rates: readonly RateNeed[], now: number,
    maxRequestMs?: number, ahead = false,
  ): Promise<Refusal | null> {
    if (!ahead) {
      for (const spec of budgets) {
        const s = t.slices.get(spec.bucket);
        if (s) this.retire(t, s);
      }
      for (const r of rates) {
        const s = t.rates.get(r.spec.bucket);
        if (s) {
          t.rates.delete(r.spec.bucket);
          if (s.tokens !== 0) t.rateReturns.set(r.spec.bucket, (t.rateReturns.get(r.spec.bucket) ?? 0) + s.tokens);
        }
      }
    }
    const req = this.drainPending(t);
    req.budgets = budgets.map((spec) => ({ lease_id: this.newId(), spec, need: amount, want: this.want(t, spec.bucket, amount, now) as bigint, max_request_ms: maxRequestMs }));
    req.rates = rates.map((r) => ({ spec: r.spec, need: r.amount, want: this.want(t, r.spec.bucket, r.amount, now) as number }));
    this.stats.calls++;
    const reply = await this.call(team, req);
    const at = clockNow();
    let refusal: Refusal | null = null;
    reply.budgets.forEach((g, i) => {
      const spec = budgets[i]!;
      if (g.granted <= 0n) {
        t.denied.set(spec.bucket, { state: { limit: g.limit, spent: g.spent, held: g.held, available: g.available }, until: at + DENIED_TTL_MS });
        refusal ??= { kind: "budget", spec, need: amount, state: g };
        return;
      }
      t.denied.delete(spec.bucket);
      t.lastGrant.set(spec.bucket, { amount: g.granted, at });
      const old = t.slices.get(spec.bucket);
      if (old) this.retire(t, old);
      t.slices.set(spec.bucket, {
        team, leaseId: g.lease_id, bucket: spec.bucket, amount: g.granted, reserved: 0n, spent: 0n, inflight: 0,
        reserveUntil: g.reserve_until, retired: false, returned: false,
      });
    });
    reply.rates.forEach((g, i) => {
      const need = rates[i]!;
      if (g.granted <= 0) {
        refusal ??= { kind: "rate", need, grant: g };
        return;
      }
      t.lastGrant.set(need.spec.bucket, { amount: g.granted, at });
      // Refilled ahead: what is left of the old slice joins the new one (or goes back if its window is over).
      const old = t.rates.get(need.spec.bucket);
      let carry = 0;
      if (old && old.until > at) carry = old.tokens;
      else if (old && old.tokens !== 0) t.rateReturns.set(need.spec.bucket, (t.rateReturns.get(need.spec.bucket) ?? 0) + old.tokens);
      t.rates.set(need.spec.bucket, { bucket: need.spec.bucket, tokens: carry + g.granted, granted: g.granted, until: at + RATE_WINDOW_MS });
    });
    return refusal;
  }

  /** Ask for enough for several requests, doubling while slices keep running out within their window. */
  private want(t: TeamState, bucket: string, need: bigint | number, now: number): bigint | number {
    const last = t.lastGrant.get(bucket);
    const recent = last && now - last.at < 10_000;
    if (typeof need === "bigint") {
      const base = need * 8n;
      const doubled = recent ? (last.amount as bigint) * 2n : 0n;
      return doubled > base ? doubled : base;
    }
    return Math.max(need * 4, recent ? (last.amount as number) * 2 : 0);
  }

  /** What this isolate holds for a team (for /v1/key and tests). */
  held(team: string): { leases: number; reserved: bigint; free: bigint } {
    const t = this.teams.get(team);
    let reserved = 0n;
    let free = 0n;
    for (const s of t?.slices.values() ?? []) {
      reserved += s.reserved;
      free += s.amount - s.reserved - s.spent;
    }
    return { leases: t?.slices.size ?? 0, reserved, free };
  }

  /** Returns every lease with nothing in flight and gives back rate tokens (tests, shutdown). */
  async releaseAll(): Promise<void> {
    await Promise.all(
      [...this.teams.entries()].map(([team, t]) => {
        for (const s of [...t.slices.values()]) if (s.inflight === 0) this.retire(t, s);
        for (const [bucket, r] of t.rates) if (r.tokens !== 0) t.rateReturns.set(bucket, (t.rateReturns.get(bucket) ?? 0) + r.tokens);
        t.rates.clear();
        return this.flush(team, t);
      }),
    );
  }
}

const delay = (ms: number) => new Promise<void>((r) => setTimer(r, ms));
