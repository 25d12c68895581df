import { envNumber } from "../core/env-number";
import { now as clockNow } from "../core/clock";
import type { Env } from "../env";
import { healthClient } from "./health-client";
import {
  applyReport,
  circuitConfig,
  healthKey,
  newRecord,
  viewOf,
  type CircuitRecord,
  type HealthReport,
  type HealthView,
} from "./circuit";

/**
 * The isolate's view of provider health. Reads are synchronous and local (the planner never waits on I/O);
 * outcomes apply locally at once and are reported to the Health Durable Object in batches, under waitUntil,
 * at most every HEALTH_SYNC_MS (default 1 s); its answer (every isolate's reports folded together) replaces
 * the local records that did not change meanwhile. An isolate with no outcomes to report still pulls the
 * shared picture every HEALTH_PULL_MS (default 10 s) while it has traffic. See docs/routing.md.
 */
const DEFAULT_SYNC_MS = 1000;
const DEFAULT_PULL_MS = 10_000;
const MAX_PENDING = 1000;

const records = new Map<string, CircuitRecord>();
/** The local change count at each record's last change, to keep changes made while a sync was in flight. */
const localChange = new Map<string, number>();
let changes = 0;
/** Keys with a half-open probe in flight from this isolate. */
const probing = new Set<string>();
/** Keys whose probe another isolate holds (the Health object said so), until when this isolate assumes so. */
const probingElsewhere = new Map<string, number>();
/** How long a probe claim holds in the Health object without an outcome (an isolate that died with it). */
const PROBE_CLAIM_MS = 60_000;
/** How long an isolate told that another holds the probe skips the candidate before it asks again. */
const ELSEWHERE_MS = 250;

/** This isolate, as the Health object knows the holder of a probe claim (made on first use: no randomness at startup). */
let isolateId: string | null = null;
const holder = () => (isolateId ??= crypto.randomUUID());

const inFlight = (key: string, now: number) => probing.has(key) || (probingElsewhere.get(key) ?? 0) > now;
let pending: HealthReport[] = [];
let lastSync = 0;
let syncing: Promise<void> | null = null;
let flushTimer: Promise<void> | null = null;

/** The planner's health lookup, as of `now`. */
export function healthLookup(now = clockNow()): (provider: string, model: string) => HealthView | undefined {
  return (provider, model) => {
    const key = healthKey(provider, model);
    const rec = records.get(key);
    return rec ? viewOf(rec, now, inFlight(key, now)) : undefined;
  };
}

export type Admission = "go" | "probe" | "skip";

/**
 * Whether an attempt may go now: "go" (closed), "probe" (half-open; this caller holds the one probe until
 * it reports or releases), or "skip" (open, or another probe is in flight). With `claim` (the Health
 * object), a half-open circuit's probe is one across all isolates: the caller waits for the object's
 * answer (only then, and only for a half-open circuit, does a request wait on it). If the object cannot be
 * reached, this isolate's probe stands.
 */
export function admit(
  provider: string,
  model: string,
  now = clockNow(),
  claim?: (key: string) => Promise<{ granted: boolean; record: CircuitRecord | null }>,
): Admission | Promise<Admission> {
  const key = healthKey(provider, model);
  const view = viewOf(records.get(key), now, inFlight(key, now));
  if (view.circuit === "closed") return "go";
  if (view.circuit !== "half_open") return "skip";
  probing.add(key);
  if (!claim) return "probe";
  return claim(key).then(
    ({ granted, record }): Admission => {
      const local = records.get(key);
      if (record?.state === "closed" && record.updatedAt > (local?.updatedAt ?? 0)) {
        // Another isolate's probe closed it meanwhile: traffic goes again. (A closed record no newer than
        // ours is one that has not heard of the failures that opened ours yet: it proves nothing.)
        records.set(key, record);
        probing.delete(key);
        return "go";
      }
      if (granted) return "probe";
      probing.delete(key);
      probingElsewhere.set(key, clockNow() + ELSEWHERE_MS);
      return "skip";
    },
    (): Admission => "probe",
  );
}

/** Gives the probe back without an outcome (the client went away). */
export function releaseProbe(provider: string, model: string): void {
  probing.delete(healthKey(provider, model));
}

export interface Outcome {
  ok: boolean;
  probe: boolean;
  latencyMs?: number;
  throughput?: number;
}

/** Records an outcome here at once and queues it for the shared picture. */
export function reportOutcome(env: Env, waitUntil: WaitUntil | undefined, provider: string, model: string, o: Outcome): void {
  const key = healthKey(provider, model);
  const at = clockNow();
  const r: HealthReport = { key, at, ok: o.ok, probe: o.probe };
  if (o.latencyMs !== undefined) r.latencyMs = o.latencyMs;
  if (o.throughput !== undefined) r.throughput = o.throughput;
  if (o.probe) probing.delete(key);
  let rec = records.get(key);
  if (!rec) records.set(key, (rec = newRecord(at)));
  applyReport(rec, r, circuitConfig(env));
  localChange.set(key, ++changes);
  if (!env.HEALTH) return;
  // Under a flood, keep what changes state (probes); the local record already has the rest.
  if (pending.length >= MAX_PENDING && !r.probe) return;
  pending.push(r);
  if (waitUntil) scheduleFlush(env, waitUntil);
}

type WaitUntil = (p: Promise<unknown>) => void;

/**
 * Arms the flush timer unless one is armed or a sync is running (it will carry the report). Only the request
 * that arms the timer holds it with waitUntil: the timer fires, and the sync runs, in that request's context;
 * no request ever waits on a promise of another's.
 */
function scheduleFlush(env: Env, waitUntil: WaitUntil): void {
  if (flushTimer || syncing) return;
  const wait = Math.max(0, lastSync + envNumber(env, "HEALTH_SYNC_MS", DEFAULT_SYNC_MS, { min: 0 }) - Date.now());
  flushTimer = new Promise<void>((r) => setTimeout(r, wait)).then(() => {
    flushTimer = null;
    return syncing ? undefined : sync(env, waitUntil);
  });
  waitUntil(flushTimer);
}

/**
 * Called once per request: sends queued reports, or pulls the shared picture when ours is old, in the
 * background. Never awaited.
 */
export function refreshHealth(env: Env, waitUntil: WaitUntil, now = Date.now()): void {
  if (!env.HEALTH || syncing || flushTimer) return;
  const due = pending.length > 0 ? envNumber(env, "HEALTH_SYNC_MS", DEFAULT_SYNC_MS, { min: 0 }) : envNumber(env, "HEALTH_PULL_MS", DEFAULT_PULL_MS, { min: 0 });
  if (now - lastSync < due) return;
  waitUntil(sync(env, waitUntil));
}

/** Sends the queued reports and adopts the shared picture; runs in the context of the request given. */
function sync(env: Env, waitUntil: WaitUntil): Promise<void> {
  const batch = pending;
  pending = [];
  const startedAt = changes;
  lastSync = Date.now();
  const health = healthClient(env)!;
  const running = (async () => {
    try {
      const shared = await health.report(batch);
      for (const [key, rec] of Object.entries(shared)) {
        if ((localChange.get(key) ?? 0) > startedAt) continue;
        records.set(key, rec);
      }
    } catch (err) {
      pending = [...batch, ...pending].slice(-MAX_PENDING);
      console.error(JSON.stringify({ msg: "health sync failed", error: String(err) }));
    } finally {
      syncing = null;
    }
    // Reports that arrived meanwhile go with the next sync, armed from this same request.
    if (pending.length > 0) scheduleFlush(env, waitUntil);
  })();
  syncing = running;
  return running;
}

/** Forgets everything this isolate knows (tests: a fresh isolate). */
export function resetLocalHealth(): void {
  records.clear();
  localChange.clear();
  changes = 0;
  probing.clear();
  probingElsewhere.clear();
  pending = [];
  lastSync = 0;
  syncing = null;
  flushTimer = null;
}

/** The circuit breakers as one request's attempt loop uses them; probes are claimed in the Health object. */
export function healthGate(env: Env, waitUntil: (p: Promise<unknown>) => void) {
  const health = healthClient(env);
  const claim = health ? (key: string) => health.claimProbe(key, PROBE_CLAIM_MS, holder()) : undefined;
  return {
    admit: (p: { provider: { id: string }; model: { id: string } }) => admit(p.provider.id, p.model.id, clockNow(), claim),
    report: (p: { provider: { id: string }; model: { id: string } }, o: Outcome) => reportOutcome(env, waitUntil, p.provider.id, p.model.id, o),
    release: (p: { provider: { id: string }; model: { id: string } }) => {
      releaseProbe(p.provider.id, p.model.id);
      if (health) waitUntil(health.releaseProbe(healthKey(p.provider.id, p.model.id)).catch(() => {}));
    },
  };
}

/** Minimum completion tokens for a stream to count towards a model's throughput average. */
const MIN_THROUGHPUT_TOKENS = 16;

/**
 * What a finished answer says about its provider: a stream cut or stalled mid-answer is a failure; a complete
 * stream's tokens per second feed the throughput average, unless its client read slower than it came.
 */
export function reportAnswer(
  env: Env,
  waitUntil: (p: Promise<unknown>) => void,
  provider: string,
  model: string,
  a: { status: string; streamed: boolean; completionTokens: number; ttfbMs: number | null; latencyMs: number; clientSlow?: boolean },
): void {
  if (a.status === "cut") return reportOutcome(env, waitUntil, provider, model, { ok: false, probe: false });
  if (a.status !== "ok" || !a.streamed || a.ttfbMs === null || a.completionTokens < MIN_THROUGHPUT_TOKENS) return;
  // A client that read slower than the provider sent set the pace: the sample would be the client's.
  if (a.clientSlow) return;
  const seconds = (a.latencyMs - a.ttfbMs) / 1000;
  if (seconds <= 0) return;
  reportOutcome(env, waitUntil, provider, model, { ok: true, probe: false, throughput: a.completionTokens / seconds });
}
