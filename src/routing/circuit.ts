import { envNumber } from "../core/env-number";
import type { Env } from "../env";
/**
 * The circuit breaker of one provider+model, and its latency and throughput moving averages, as a plain
 * record and pure transitions. The same code runs in every isolate (on what it sees) and in the Health
 * Durable Object (on what every isolate reports), so both reach the same state from the same reports.
 *
 *   closed ──(`failures` consecutive failures within `windowMs`)──► open
 *   open ──(openUntil passes)──► half-open: one probe request at a time
 *   half-open ──probe succeeds──► closed        half-open ──probe fails──► open, for twice as long (capped)
 */
export type CircuitState = "closed" | "open" | "half_open";

export interface CircuitRecord {
  state: CircuitState;
  /** Consecutive failures while closed. */
  failures: number;
  lastFailureAt: number;
  /** When open: the time a probe may go. */
  openUntil: number;
  /** Consecutive failed probes; each doubles the open time. */
  reopens: number;
  /** Moving average of time to first token (streams) or to the answer (non-stream), ms. */
  latencyMs: number | null;
  /** Moving average of completion tokens per second while streaming. */
  throughput: number | null;
  /** Epoch ms of the last transition or sample. */
  updatedAt: number;
}

export interface CircuitConfig {
  /** Consecutive failures that open the circuit. */
  failures: number;
  /** How long it stays open before a probe. */
  openMs: number;
  maxOpenMs: number;
  /** Failures further apart than this do not add up. */
  windowMs: number;
}

/**
 * A short first open period (5 s): a provider that recovers gets traffic back within seconds, and a failed
 * probe costs one request's try; failed probes in a row double it up to 5 minutes, so a provider that stays
 * down is probed less and less.
 */
export const DEFAULT_CIRCUIT: CircuitConfig = { failures: 5, openMs: 5_000, maxOpenMs: 300_000, windowMs: 60_000 };

/** What the planner sees of one provider+model. */
export interface HealthView {
  circuit: "closed" | "open" | "half_open" | "probing";
  /** When open: when the next probe may go. */
  retryAt?: number;
  latencyMs: number | null;
  throughput: number | null;
}

/** One observed outcome. Neutral outcomes (429, 4xx, a client that went away) are not reported. */
export interface HealthReport {
  key: string;
  at: number;
  ok: boolean;
  /** The attempt was the half-open probe. */
  probe: boolean;
  latencyMs?: number;
  throughput?: number;
}

const ALPHA = 0.3;

export function healthKey(provider: string, model: string): string {
  return `${provider}|${model}`;
}

export function newRecord(now: number): CircuitRecord {
  return { state: "closed", failures: 0, lastFailureAt: 0, openUntil: 0, reopens: 0, latencyMs: null, throughput: null, updatedAt: now };
}

export function viewOf(rec: CircuitRecord | undefined, now: number, probing: boolean): HealthView {
  if (!rec) return { circuit: "closed", latencyMs: null, throughput: null };
  const base = { latencyMs: rec.latencyMs, throughput: rec.throughput };
  if (rec.state === "closed") return { circuit: "closed", ...base };
  if (rec.state === "open" && now < rec.openUntil) return { circuit: "open", retryAt: rec.openUntil, ...base };
  return { circuit: probing ? "probing" : "half_open", retryAt: rec.openUntil, ...base };
}

const ewma = (prev: number | null, sample: number) => (prev === null ? sample : prev + ALPHA * (sample - prev));

/** Applies one report; returns whether the circuit's state changed. */
export function applyReport(rec: CircuitRecord, r: HealthReport, cfg: CircuitConfig): boolean {
  const before = rec.state;
  rec.updatedAt = Math.max(rec.updatedAt, r.at);
  if (r.ok) {
    if (r.latencyMs !== undefined) rec.latencyMs = ewma(rec.latencyMs, r.latencyMs);
    if (r.throughput !== undefined) rec.throughput = ewma(rec.throughput, r.throughput);
    // While open, only the probe's success closes it: a straggler that started before the opening proves little.
    if (rec.state === "closed" || r.probe) {
      rec.state = "closed";
      rec.failures = 0;
      rec.reopens = 0;
    }
    return rec.state !== before;
  }
  if (rec.state === "closed") {
    if (r.at - rec.lastFailureAt > cfg.windowMs) rec.failures = 0;
    rec.failures++;
    rec.lastFailureAt = r.at;
    if (rec.failures >= cfg.failures) {
      rec.state = "open";
      rec.reopens = 0;
      rec.openUntil = r.at + cfg.openMs;
    }
  } else if (r.probe) {
    rec.state = "open";
    rec.reopens++;
    rec.openUntil = r.at + Math.min(cfg.maxOpenMs, cfg.openMs * 2 ** rec.reopens);
  }
  return rec.state !== before;
}

/** Circuit settings from the environment (CIRCUIT_FAILURES, CIRCUIT_OPEN_MS), defaults otherwise. */
export function circuitConfig(env: Pick<Env, "CIRCUIT_FAILURES" | "CIRCUIT_OPEN_MS" | "CIRCUIT_WINDOW_MS">): CircuitConfig {
  const openMs = envNumber(env, "CIRCUIT_OPEN_MS", DEFAULT_CIRCUIT.openMs);
  return {
    failures: envNumber(env, "CIRCUIT_FAILURES", DEFAULT_CIRCUIT.failures),
    openMs,
    maxOpenMs: Math.max(openMs, DEFAULT_CIRCUIT.maxOpenMs * (openMs / DEFAULT_CIRCUIT.openMs)),
    windowMs: envNumber(env, "CIRCUIT_WINDOW_MS", DEFAULT_CIRCUIT.windowMs),
  };
}
