import type { TokenColumns, TokenCounts } from "./cost";

/** One upstream try of a request. Failed attempts are recorded, never billed. */
export interface Attempt {
  provider: string;
  model: string;
  /** HTTP status from the provider, or 0 when none arrived (refused, reset, timed out). */
  status: number;
  ok: boolean;
  error?: string;
  latency_ms: number;
  /**
   * The part of the answer this attempt produced, when the answer was continued across attempts
   * (routing.continue_on_cut): its tokens (estimated where the provider reported none) and their cost in
   * integer picodollars at its own prices. The record's totals are the sums of its segments.
   */
  segment?: AttemptSegment;
}

export interface AttemptSegment extends TokenCounts {
  cost: number;
  estimated: boolean;
}

/**
 * - ok: the provider answered in full
 * - cut: the stream died or stalled after the answer began (billed for what was produced)
 * - cancelled: the client went away, or its own lower time limit gave up on the answer (billed for what was
 *   produced; once a provider had the request, at least its prompt, estimated)
 * - error: no provider answered (not billed, not counted in /v1/usage)
 */
export type UsageStatus = "ok" | "cut" | "cancelled" | "error";

/** What the ledger keeps for every request that reached a provider. */
export interface UsageEvent extends TokenCounts {
  id: string;
  team: string;
  key_id: string;
  user: string | null;
  model_requested: string;
  /** The catalog entry that served the request (the one asked for, unless a fallback answered). */
  model: string;
  provider: string;
  status: UsageStatus;
  streamed: boolean;
  cancelled: boolean;
  estimated: boolean;
  /** How estimated counts were estimated (streaming/estimate.ts), when `estimated`. */
  estimate_method?: string | null;
  /** Integer picodollars: what the request's budgets were charged. */
  cost: number;
  /**
   * Set when the provider's counts priced above what the request reserved (it produced more than the body
   * allowed): their full price, in integer picodollars; `cost` is then the reservation, so no budget passes
   * its limit.
   */
  uncapped_cost?: number | null;
  ttfb_ms: number | null;
  latency_ms: number;
  /** Epoch ms when the request arrived. */
  created_at: number;
  attempts: Attempt[];
  /** Budget leases the request reserved under (not stored; the ledger counts the cost against them). */
  leases?: string[];
  /** The request's messages and the answer, only when the team's policy sets data.log_prompts. */
  prompt?: string | null;
  completion?: string | null;
}

export const USAGE_GROUPS = ["day", "hour", "model", "provider", "key", "user"] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

export interface UsageQuery {
  /** Inclusive hour bucket "YYYY-MM-DDTHH". */
  from_hour: string;
  /** Inclusive hour bucket "YYYY-MM-DDTHH". */
  to_hour: string;
  group_by: UsageGroup[];
  key_id?: string;
  user?: string;
  model?: string;
  provider?: string;
}

/** Token totals plus cost as an exact decimal-string of picodollars (SQLite int64 read as text). */
export interface UsageTotalsRow extends TokenColumns {
  requests: number;
  cost_subunits: string;
}

export interface UsageGroupRow extends UsageTotalsRow {
  day?: string;
  hour?: string;
  model?: string;
  provider?: string;
  key?: string;
  user?: string | null;
}

/** "2026-11-26T03" for an epoch-ms instant, UTC. */
export function hourBucket(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13);
}
