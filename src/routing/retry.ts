import { clearTimer, setTimer } from "../core/clock";
import type { AttemptError, FailureKind } from "../core/errors";

/**
 * What to do after a failed attempt, and how long to wait before trying the same provider again.
 *
 * - retry: connection refused or reset before headers, 408, 429, 500, 502, 503, 504 — the same model again
 *   (while the retry budget and the time budget last), then the next model;
 * - next: try the next model at once (timeouts: waiting again would only double the wait; a provider's
 *   401/403/404 concerns that provider only; a context too long for this model);
 * - stop: the answer would be the same anywhere (content policy, a malformed request, the client left).
 */
export type Decision = "retry" | "next" | "stop";

/** Retry-After past this fails over at once instead of waiting. */
export const RETRY_AFTER_CAP_MS = 5_000;
/** Exponential backoff: first retry after ~BASE, doubling, capped. */
const BACKOFF_BASE_MS = 400;
const BACKOFF_MAX_MS = 4_000;
/** Never more than four attempts a second on one provider. */
export const MIN_SPACING_MS = 250;

// 529: Anthropic's "overloaded", transient like 503.
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504, 529]);
const PROVIDER_SPECIFIC_STATUSES = new Set([401, 403, 404]);

const CONTEXT_RE =
  /context[ _-]?(length|window)|maximum context|prompt is too long|too many (input )?tokens|exceeds? the (maximum|max) (number of )?(input )?tokens|input token count|reduce the length of the (messages|prompt)/i;
const CONTENT_RE = /content[ _-]?(policy|filter|management)|safety (system|filter|policy)|moderation|flagged|blocked by|responsible ai policy/i;

/** The error code of a provider's JSON error body, if any. */
export function upstreamErrorCode(text: string): string | undefined {
  try {
    const j = JSON.parse(text) as { error?: { code?: unknown; type?: unknown; status?: unknown } };
    const e = j.error;
    if (e && typeof e === "object") {
      for (const v of [e.code, e.type, e.status]) if (typeof v === "string" && v) return v;
    }
  } catch {
    // not JSON
  }
  return undefined;
}

/** Recognises the 4xx answers no retry can fix, by the provider's code or message. */
export function classifyFailure(status: number, code: string | undefined, message: string): FailureKind {
  if (status < 400 || status >= 500 || status === 408 || status === 429) return null;
  const text = `${code ?? ""} ${message}`;
  if (CONTEXT_RE.test(text) || status === 413) return "context_length";
  if (CONTENT_RE.test(text)) return "content_policy";
  return null;
}

export function decide(err: AttemptError, kind: FailureKind): Decision {
  if (err.kind === "cancelled") return "stop";
  if (err.kind === "timeout") return "next";
  if (err.kind === "unreachable") return "retry";
  if (kind === "context_length") return "next";
  if (kind === "content_policy") return "stop";
  if (RETRY_STATUSES.has(err.status)) return "retry";
  if (PROVIDER_SPECIFIC_STATUSES.has(err.status)) return "next";
  return err.status >= 500 ? "next" : "stop";
}

/**
 * How long to wait before retry number `n` (1-based) of the same model: the provider's Retry-After when it
 * gave one (null when that is past the cap: fail over instead), else exponential backoff with equal jitter.
 */
export function retryDelay(n: number, retryAfterMs: number | undefined, random: () => number = Math.random): number | null {
  if (retryAfterMs !== undefined) return retryAfterMs > RETRY_AFTER_CAP_MS ? null : Math.max(MIN_SPACING_MS, retryAfterMs);
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (n - 1));
  return Math.max(MIN_SPACING_MS, Math.round(ceiling / 2 + random() * (ceiling / 2)));
}

/**
 * Whether an outcome says something about the provider's health (and so counts for its circuit). What a client
 * controls never does: its hanging up, and time limits it lowered below the gateway's own.
 */
export function countsAsProviderFailure(err: AttemptError): boolean {
  if (err.byClient) return false;
  if (err.kind === "timeout" || err.kind === "unreachable") return true;
  return err.kind === "http" && (err.status >= 500 || err.status === 408);
}

/** Sleeps `ms`, waking early when `signal` aborts; resolves false then. */
export function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimer(t);
      signal?.removeEventListener("abort", onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const t = setTimer(() => done(true), ms);
    signal?.addEventListener("abort", onAbort);
  });
}
