import type { BudgetSpec, LeaseGrant } from "./budget-book";
import type { AllowanceReply, AllowanceRequest } from "./ledger-do";
import type { RateGrant, RateSpec } from "./rate-book";

/** The shapes the isolate's allowances (allowances.ts) take and give. */

export interface RateNeed {
  spec: RateSpec;
  amount: number;
}

export type BudgetRefusalState = Pick<LeaseGrant, "limit" | "spent" | "held" | "available">;

/** Why a request cannot go ahead. */
export type Refusal =
  | { kind: "budget"; spec: BudgetSpec; need: bigint; state: BudgetRefusalState }
  | { kind: "rate"; need: RateNeed; grant: RateGrant };

export class RefusedError extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.kind === "budget" ? `budget ${refusal.spec.bucket} exhausted` : `rate limit ${refusal.need.spec.bucket} reached`);
  }
}

export interface Hold {
  /** Lease ids the request reserved under, for its usage event. */
  leases: string[];
  /** Settles the reservation to the request's actual cost and tokens (0n, 0 on failure: a release). */
  settle(cost: bigint, tokens: number): Promise<void> | null;
}

export type LedgerCall = (team: string, req: AllowanceRequest) => Promise<AllowanceReply>;

export interface ReserveOptions {
  /** The longest a request may run: leases must outlive it. */
  maxRequestMs?: number;
  /** The request's waitUntil: refills started ahead of need run under it. With none, no refill ahead. */
  waitUntil?: (p: Promise<unknown>) => void;
}
