import type { Env } from "../env";
import { GatewayError } from "../http/errors";
import type { Attempt } from "../ledger/event";
import { resolveProvider } from "../providers/registry";
import type { ResolvedProvider } from "../providers/types";
import { AttemptError, retryAfterMs, sendUpstream, upstreamErrorMessage } from "../providers/upstream";
import type { PlannedAttempt } from "./plan";

/** Default time limits (ms). */
export const TIMEOUTS = {
  /** Stream: response headers from the provider. */
  headers: 15_000,
  /** Stream: silence between chunks. */
  idle: 30_000,
  /** Whole request (a non-stream answer arrives only when complete). */
  total: 300_000,
};

/** The limits in force: TIMEOUTS, unless the UPSTREAM_HEADERS_TIMEOUT_MS / UPSTREAM_TOTAL_TIMEOUT_MS vars say otherwise. */
export function upstreamTimeouts(env: Env): typeof TIMEOUTS {
  const ms = (v: unknown, dflt: number) => (typeof v === "string" && Number(v) > 0 ? Number(v) : dflt);
  return {
    headers: ms(env.UPSTREAM_HEADERS_TIMEOUT_MS, TIMEOUTS.headers),
    idle: TIMEOUTS.idle,
    total: ms(env.UPSTREAM_TOTAL_TIMEOUT_MS, TIMEOUTS.total),
  };
}

/** Statuses after which another provider may succeed. */
const FAILOVER_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** A provider that answered with 2xx headers: its response body is the caller's to consume. */
export interface Served {
  planned: PlannedAttempt;
  resolved: ResolvedProvider;
  response: Response;
  /** Aborts the upstream call (client gone, stream idle). */
  controller: AbortController;
  /** Stops the total-time timer and detaches from the client's signal once the answer is finished. */
  release(): void;
}

export interface AttemptsInput {
  env: Env;
  attempts: PlannedAttempt[];
  stream: boolean;
  /** The upstream body for one planned attempt (translated to its provider's format). */
  bodyFor(planned: PlannedAttempt): string;
  clientSignal: AbortSignal | undefined;
  /** Where each try is noted (the usage event's attempts list). */
  log: Attempt[];
}

/**
 * Tries the planned attempts in order until one answers with 2xx response headers. Failover happens on
 * connection failures, timeouts and the statuses another provider may not share; any other 4xx ends the
 * request with the provider's answer.
 */
export async function runAttempts(input: AttemptsInput): Promise<Served> {
  const limits = upstreamTimeouts(input.env);
  let lastError: AttemptError | undefined;
  let lastProvider = input.attempts[0]!.provider.id;
  for (const planned of input.attempts) {
    lastProvider = planned.provider.id;
    const resolved = resolveProvider(input.env, planned.provider.id) as ResolvedProvider;
    const t0 = Date.now();
    const controller = new AbortController();
    const onClientAbort = () => controller.abort(new AttemptError(0, "client disconnected", "cancelled"));
    input.clientSignal?.addEventListener("abort", onClientAbort);
    const headersLimit = input.stream ? limits.headers : limits.total;
    let timer = setTimeout(
      () => controller.abort(new AttemptError(0, `no response from ${planned.provider.id} within ${headersLimit} ms`, "timeout")),
      headersLimit,
    );
    const release = () => {
      clearTimeout(timer);
      input.clientSignal?.removeEventListener("abort", onClientAbort);
    };
    const note = (status: number, ok: boolean, error?: string) =>
      input.log.push({ provider: planned.provider.id, model: planned.model.id, status, ok, error, latency_ms: Date.now() - t0 });
    try {
      const response = await sendUpstream({
        provider: resolved,
        upstreamModel: planned.model.upstream_id,
        stream: input.stream,
        body: input.bodyFor(planned),
        signal: controller.signal,
      });
      if (response.ok) {
        note(response.status, true);
        if (input.stream) {
          // From here the stream's own idle timer watches the provider; the total limit still applies.
          clearTimeout(timer);
          timer = setTimeout(() => controller.abort(new AttemptError(0, `stream exceeded ${limits.total} ms`, "timeout")), limits.total);
        }
        return { planned, resolved, response, controller, release };
      }
      const text = await response.text().catch(() => "");
      lastError = new AttemptError(response.status, upstreamErrorMessage(text), "http", retryAfterMs(response.headers));
      note(response.status, false, lastError.message);
      release();
    } catch (err) {
      release();
      lastError = toAttemptError(err, controller.signal);
      note(lastError.status, false, lastError.message);
      if (lastError.kind === "cancelled") break;
    }
    if (lastError.kind === "http" && !FAILOVER_STATUSES.has(lastError.status)) break;
  }
  throw clientError(lastError!, lastProvider);
}

function toAttemptError(err: unknown, signal: AbortSignal): AttemptError {
  if (signal.aborted && signal.reason instanceof AttemptError) return signal.reason;
  if (err instanceof AttemptError) return err;
  return new AttemptError(0, `could not reach the provider: ${String((err as Error)?.message ?? err)}`, "unreachable");
}

/** The error a client sees when no attempt succeeded, in our shape, with the provider's status for 4xx. */
export function clientError(err: AttemptError, provider: string): GatewayError {
  const details = { provider };
  if (err.kind === "timeout") return new GatewayError("upstream_timeout", err.message, { details });
  if (err.kind === "cancelled") return new GatewayError("request_timeout", "the client disconnected", { details });
  if (err.kind === "unreachable") return new GatewayError("upstream_unreachable", `${provider}: ${err.message}`, { details });
  if (err.status === 401 || err.status === 403) {
    return new GatewayError("upstream_error", `${provider} rejected the gateway's credentials (${err.status}): ${err.message}`, { details });
  }
  if (err.status === 429) {
    const headers: Record<string, string> = err.retryAfterMs !== undefined ? { "retry-after": String(Math.ceil(err.retryAfterMs / 1000)) } : {};
    return new GatewayError("rate_limited", `${provider}: ${err.message}`, { headers, details });
  }
  if (err.status >= 400 && err.status < 500) {
    return new GatewayError("bad_request", `${provider}: ${err.message}`, { status: err.status, details });
  }
  return new GatewayError("upstream_error", `${provider} failed (${err.status}): ${err.message}`, { details });
}
