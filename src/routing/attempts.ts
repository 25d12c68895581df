import { clearTimer, setTimer, timerNow as now, type Timer } from "../core/clock";
import type { CatalogModel } from "../catalog";
import type { Env } from "../env";
import { TIMEOUTS, upstreamTimeouts } from "../core/time-limits";
import { AttemptError, clientError, GatewayError, type FailureKind } from "../core/errors";
import type { Attempt } from "../ledger/event";
import type { TimeoutName, TimeoutSettings } from "../policy/route";
import { resolveProvider } from "../providers/registry";
import { scrubberFor } from "../providers/secrets";
import type { ResolvedProvider } from "../providers/types";
import { retryAfterMs, sendUpstream, upstreamErrorMessage, type UpstreamEndpoint } from "../providers/upstream";
import { awaitFirstToken, FirstTokenGuard, type ChunkSource, type GuardHooks } from "../streaming/first-token";
import type { Outcome } from "./health";
import type { PlannedAttempt } from "./plan";
import { classifyFailure, countsAsProviderFailure, decide, MIN_SPACING_MS, pause, retryDelay, upstreamErrorCode } from "./retry";

const DEFAULT_RETRIES = 2;

export type Timeouts = Record<TimeoutName, number>;

/** The time limits of one attempt: what the policy and request set, the gateway's defaults for the rest. */
function timeoutsFor(settings: TimeoutSettings, model: CatalogModel, defaults: typeof TIMEOUTS = TIMEOUTS): Timeouts {
  return {
    headers: settings.headers ?? defaults.headers,
    first_token: settings.first_token ?? (model.capabilities.reasoning ? defaults.first_token_reasoning : defaults.first_token),
    idle: settings.idle ?? defaults.idle,
    total: settings.total ?? defaults.total,
  };
}

/**
 * The limits of one attempt: the request's settings (already merged under the policy's), never above the
 * gateway's own (`own`: the policy's, the defaults for the rest) — a request may lower a limit, not raise it.
 */
export function effectiveTimeouts(settings: TimeoutSettings, own: TimeoutSettings, model: CatalogModel, defaults: typeof TIMEOUTS = TIMEOUTS): Timeouts {
  const t = timeoutsFor(settings, model, defaults);
  const o = timeoutsFor(own, model, defaults);
  return { headers: Math.min(t.headers, o.headers), first_token: Math.min(t.first_token, o.first_token), idle: Math.min(t.idle, o.idle), total: Math.min(t.total, o.total) };
}

/** Which limits of `t` the client lowered below the gateway's own (`own`): their expiry is not the provider's fault. */
export type LoweredByClient = Record<TimeoutName, boolean>;

function loweredBy(t: Timeouts, own: Timeouts): LoweredByClient {
  return { headers: t.headers < own.headers, first_token: t.first_token < own.first_token, idle: t.idle < own.idle, total: t.total < own.total };
}

/** A provider that answered with 2xx headers (and, streamed, its first token): its body is the caller's. */
export interface Served {
  planned: PlannedAttempt;
  resolved: ResolvedProvider;
  response: Response;
  /** A stream's body, as the responder reads it (see routing/first-token.ts). */
  chunks: ChunkSource;
  /** Aborts the upstream call (client gone, stream idle). */
  controller: AbortController;
  /** Stops the total-time timer and detaches from the client's signal once the answer is finished. */
  release(): void;
  /** The limits that apply to this answer (the stream's idle timeout, among others). */
  timeouts: Timeouts;
  /**
   * Stops reading the answer: the client went away ("client ..."), or the provider was silent past the idle
   * limit. The reason is the upstream call's abort reason, marked the client's when the idle limit was.
   */
  stop(why: string): void;
  /** Takes every credential out of a text that quotes the provider (an in-band error's message). */
  scrub(text: string): string;
  /** This attempt was a half-open circuit's probe. */
  probe: boolean;
  /** The client read the answer slower than the provider sent it: its pace says nothing of the provider's. */
  clientSlow?: boolean;
}

/** Whether an answer was stopped by a limit the client lowered (idle, total): that says nothing of its provider. */
export function stoppedByClient(served: Served): boolean {
  const reason = served.controller.signal.reason;
  return reason instanceof AttemptError && reason.byClient;
}

/** The circuit breakers as the attempt loop sees them (routing/health.ts in the Worker). */
export interface HealthGate {
  /** A promise only when the answer needs the shared health (a half-open circuit's probe). */
  admit(p: PlannedAttempt): "go" | "probe" | "skip" | Promise<"go" | "probe" | "skip">;
  report(p: PlannedAttempt, o: Outcome): void;
  release(p: PlannedAttempt): void;
}

export interface AttemptsInput {
  env: Env;
  attempts: PlannedAttempt[];
  stream: boolean;
  /** The upstream body for one planned attempt (translated to its provider's format). */
  bodyFor(planned: PlannedAttempt): string;
  /** Headers for one planned attempt beyond its adapter's, if any. */
  headersFor?(planned: PlannedAttempt): Record<string, string> | undefined;
  /** The providers' endpoint the attempts call: chat (the default) or embeddings. */
  endpoint?: "chat" | "embeddings";
  /** The endpoint of one planned attempt, where it differs from `endpoint` (a Responses request passed through). */
  endpointFor?(planned: PlannedAttempt): UpstreamEndpoint | undefined;
  clientSignal: AbortSignal | undefined;
  /** Where each try is noted (the usage event's attempts list). */
  log: Attempt[];
  /** Retries of the same model allowed over the whole request (the retry budget). */
  retries?: number;
  /** Explicit limits (policy and request); defaults fill the gaps. */
  timeouts?: TimeoutSettings;
  /** The gateway's own limits (the policy's; defaults fill the gaps): below them, `timeouts` are the client's. */
  gatewayTimeouts?: TimeoutSettings;
  /** When the request arrived: the total time budget counts from here. */
  started?: number;
  health?: HealthGate;
  random?: () => number;
  /**
   * Streams may be committed at the provider's headers rather than at its first token, where the attempt and
   * every one after it speak the OpenAI format (routing/first-token.ts). A later failover before the first
   * token then switches the served attempt in place (the Served object is updated) and calls `onSwitch`.
   */
  earlyCommit?: boolean;
  onSwitch?(served: Served): void;
  /**
   * An attempt the provider had been sent, given up by the client (its own lower limit ran out, or it hung
   * up) before an answer: the provider works on it all the same, so its prompt is billed.
   */
  onAbandoned?(planned: PlannedAttempt): void;
}

type Failure = { error: AttemptError; kind: FailureKind; code?: string };
type TryResult = { served: Served; waiting?: { reader: ReadableStreamDefaultReader<Uint8Array>; tokenArrived(): void } } | Failure;

/**
 * Tries the planned attempts in order until one answers. A retriable failure (connection refused or reset,
 * 408, 429, 5xx) is retried on the same model after Retry-After or a jittered backoff while the retry budget
 * and the total time allow, then the next model is tried; a timeout or a provider-specific 4xx moves to the
 * next model at once; a context-length error moves to the next model with a larger context; content policy
 * and other 4xx end the request with the provider's reason.
 */
export function runAttempts(input: AttemptsInput): Promise<Served> {
  const started = input.started ?? now();
  const settings = input.timeouts ?? {};
  const defaults = upstreamTimeouts(input.env);
  const own = input.gatewayTimeouts ?? settings;
  const deadline = started + Math.min(settings.total ?? defaults.total, own.total ?? defaults.total);
  const random = input.random ?? Math.random;
  let budget = input.retries ?? DEFAULT_RETRIES;
  /** Start of the last attempt per provider that failed in a way that asks to slow down. */
  const lastFailedTry = new Map<string, number>();
  let last: (Failure & { planned: PlannedAttempt }) | undefined;
  let contextFloor = 0;
  let i = 0;
  let triesHere = 0;
  const next = () => {
    i++;
    triesHere = 0;
  };
  // Attempts from this index on all speak the OpenAI format: a stream may be committed early from there.
  let openAIFrom = input.attempts.length;
  const chatStream = (p: PlannedAttempt) => p.provider.format === "openai" && input.endpointFor?.(p) !== "responses";
  while (openAIFrom > 0 && chatStream(input.attempts[openAIFrom - 1]!)) openAIFrom--;
  const cancelled = (planned: PlannedAttempt) => ({ error: new AttemptError(0, "client disconnected", "cancelled"), kind: null, planned });

  const finalError = (): GatewayError => {
    if (!last) return new GatewayError("unavailable", "every candidate's circuit is open; try again shortly", { headers: { "retry-after": "1" } });
    return clientError(last.error, last.planned.provider.id, last.kind, last.planned.model.id);
  };

  /** After a failed try: whether to go on (same model after a pause, or the next one) or stop. */
  const afterFailure = async (result: Failure, planned: PlannedAttempt, attemptStart: number, probe: boolean): Promise<boolean> => {
    const { error, kind } = result;
    last = { ...result, planned };
    if (error.byClient || error.kind === "cancelled") input.onAbandoned?.(planned);
    // Every failed try counts towards the circuit, retries included: a provider that is down sees at most
    // CIRCUIT_FAILURES tries before its circuit opens, however many requests retry it meanwhile.
    if (countsAsProviderFailure(error)) {
      input.health?.report(planned, { ok: false, probe });
    } else if (probe) input.health?.release(planned);

    const decision = decide(error, kind);
    if (decision === "stop") return false;
    if (kind === "context_length") contextFloor = Math.max(contextFloor, planned.model.context_length);
    if (decision === "retry") {
      lastFailedTry.set(planned.provider.id, attemptStart);
      const delay = retryDelay(triesHere + 1, error.retryAfterMs, random);
      if (delay !== null && budget > 0 && now() + delay < deadline) {
        budget--;
        triesHere++;
        if (!(await pause(delay, input.clientSignal))) {
          last = cancelled(planned);
          return false;
        }
        return true;
      }
    }
    next();
    return true;
  };

  type Won = {
    result: Extract<TryResult, { served: Served }>;
    planned: PlannedAttempt;
    attemptStart: number;
    probe: boolean;
    /** The attempt's outcome went to the circuit (or is about to). */
    reported?: boolean;
  };

  const loop = async (): Promise<Won> => {
    while (i < input.attempts.length) {
      const planned = input.attempts[i]!;
      if (planned.model.context_length <= contextFloor) {
        next();
        continue;
      }
      const since = now() - (lastFailedTry.get(planned.provider.id) ?? -Infinity);
      if (since < MIN_SPACING_MS && !(await pause(MIN_SPACING_MS - since, input.clientSignal))) {
        last = cancelled(planned);
        break;
      }
      const admitted = input.health?.admit(planned) ?? "go";
      const admission = typeof admitted === "string" ? admitted : await admitted;
      if (admission === "skip") {
        next();
        continue;
      }
      const probe = admission === "probe";
      const remaining = deadline - now();
      if (remaining <= 0) {
        if (probe) input.health?.release(planned);
        last = { error: new AttemptError(0, `no answer within the total time limit of ${deadline - started} ms`, "timeout"), kind: null, planned };
        break;
      }
      const attemptStart = now();
      const early = input.stream && input.earlyCommit === true && i >= openAIFrom;
      const t = effectiveTimeouts(settings, own, planned.model, defaults);
      const result = await tryOnce(input, planned, t, loweredBy(t, timeoutsFor(own, planned.model, defaults)), remaining, probe, early);
      if ("served" in result) return { result, planned, attemptStart, probe };
      if (!(await afterFailure(result, planned, attemptStart, probe))) break;
    }
    throw finalError();
  };

  const reportServed = (won: Won) => {
    won.reported = true;
    input.health?.report(won.planned, { ok: true, probe: won.probe, latencyMs: now() - won.attemptStart });
  };

  /**
   * A probe committed before its first token holds the circuit's one probe until the token comes: if the answer
   * ends first without a failure of the provider (the client went away), the probe is given back when the
   * answer is released, instead of holding the circuit for every client until the claim lapses.
   */
  const probeUntilToken = (won: Won) => {
    if (!won.probe || !won.result.waiting) return;
    const served = won.result.served;
    const release = served.release;
    served.release = () => {
      release();
      if (!won.reported) {
        won.reported = true;
        input.health?.release(won.planned);
      }
    };
  };

  /** How the guard of a stream committed early hears from, and asks, the attempt `won`. */
  const hooksFor = (won: Won, committed: Served, guard: FirstTokenGuard): GuardHooks => ({
    reason: () => committed.controller.signal.reason,
    served: () => {
      won.result.waiting?.tokenArrived();
      if (won.result.waiting) reportServed(won);
    },
    failover: async (failure) => {
      // The guard quotes the provider's in-band error event.
      const error = new AttemptError(failure.status, scrubberFor(input.env)(failure.message), failure.kind, failure.retryAfterMs, failure.byClient);
      won.reported = true; // by afterFailure, below
      committed.controller.abort(error);
      committed.release();
      const entry = input.log.at(-1)!;
      entry.ok = false;
      entry.error = error.message;
      entry.latency_ms = now() - won.attemptStart;
      if (!(await afterFailure({ error, kind: null }, won.planned, won.attemptStart, won.probe))) throw finalError();
      const after = await loop();
      probeUntilToken(after);
      Object.assign(committed, after.result.served, { chunks: guard });
      guard.hooks = hooksFor(after, committed, guard);
      if (!after.result.waiting) reportServed(after);
      input.onSwitch?.(committed);
      return after.result.waiting?.reader ?? after.result.served.chunks;
    },
  });

  return loop().then((won) => {
    const { served, waiting } = won.result;
    if (!waiting) {
      reportServed(won);
      return served;
    }
    probeUntilToken(won);
    const guard = new FirstTokenGuard(waiting.reader);
    guard.hooks = hooksFor(won, served, guard);
    served.chunks = guard;
    return served;
  });
}


async function tryOnce(
  input: AttemptsInput,
  planned: PlannedAttempt,
  t: Timeouts,
  lowered: LoweredByClient,
  remaining: number,
  probe: boolean,
  early: boolean,
): Promise<TryResult> {
  const providerId = planned.provider.id;
  const resolved = resolveProvider(input.env, planned.provider) as ResolvedProvider;
  const t0 = now();
  const controller = new AbortController();
  const onClientAbort = () => controller.abort(new AttemptError(0, "client disconnected", "cancelled"));
  input.clientSignal?.addEventListener("abort", onClientAbort);
  // One timer per attempt, whatever its phase (headers, first token, the rest of the total): a phase sets
  // its deadline, and the timer, when it fires early because the deadline moved on, sleeps again until it.
  const totalMessage = `no complete answer from ${providerId} within the total time limit`;
  const limit = new Deadline((name) => controller.abort(new AttemptError(0, limit.message, "timeout", undefined, lowered[name])));
  const release = () => {
    limit.clear();
    input.clientSignal?.removeEventListener("abort", onClientAbort);
  };
  const note = (status: number, ok: boolean, error?: string) =>
    input.log.push({ provider: providerId, model: planned.model.id, status, ok, error, latency_ms: now() - t0 });
  // From the first token the stream's idle timer watches the provider; the total limit still applies.
  const tokenArrived = () => limit.set(t0 + remaining, `stream exceeded the total time limit of ${t.total} ms`, "total");
  const endpoint = input.endpointFor?.(planned) ?? input.endpoint;
  try {
    const sent = sendUpstream({
      provider: resolved,
      upstreamModel: planned.model.upstream_id,
      stream: input.stream,
      body: input.bodyFor(planned),
      signal: controller.signal,
      headers: input.headersFor?.(planned),
      endpoint,
    });
    // The timer is set once the request is on its way, so that setting it overlaps the provider's time.
    if (input.stream && t.headers < remaining) limit.set(t0 + t.headers, `no response from ${providerId} within ${t.headers} ms`, "headers");
    else limit.set(t0 + remaining, totalMessage, "total");
    const response = await sent;
    if (!response.ok) {
      const text = await response.text().catch(() => "");
      release();
      const code = upstreamErrorCode(text);
      // The provider's words go to the client and the ledger: never a credential it quotes back.
      const message =
        response.status === 401 || response.status === 403
          ? `${providerId} rejected the gateway's credentials (${response.status})`
          : scrubberFor(input.env)(upstreamErrorMessage(text));
      note(response.status, false, message);
      return { error: new AttemptError(response.status, message, "http", retryAfterMs(response.headers)), kind: classifyFailure(response.status, code, message), code };
    }
    const stop = (why: string) =>
      controller.abort(why.startsWith("client") ? new AttemptError(0, why, "cancelled") : new AttemptError(0, why, "timeout", undefined, lowered.idle));
    const scrub = scrubberFor(input.env);
    const served = (chunks: ChunkSource): Served => ({ planned, resolved, response, chunks, controller, release, timeouts: t, stop, scrub, probe });
    if (!input.stream) {
      note(response.status, true);
      return { served: served(NO_CHUNKS) };
    }
    if (t.first_token < remaining) limit.set(t0 + t.first_token, `no first token from ${providerId} within ${t.first_token} ms`, "first_token");
    else limit.set(t0 + remaining, totalMessage, "total");
    if (early && response.body) {
      note(response.status, true);
      return { served: served(NO_CHUNKS), waiting: { reader: response.body.getReader(), tokenArrived } };
    }
    const first = await awaitFirstToken(response, endpoint === "responses" ? "responses" : planned.provider.format);
    if ("error" in first) {
      controller.abort();
      release();
      const message = scrubberFor(input.env)(first.error);
      note(response.status, false, message);
      return { error: new AttemptError(502, message, "http"), kind: null };
    }
    tokenArrived();
    note(response.status, true);
    return { served: served(first.chunks) };
  } catch (err) {
    release();
    const error = toAttemptError(err, controller.signal, scrubberFor(input.env));
    note(error.status, false, error.message);
    return { error, kind: null };
  }
}

/** A deadline that can move, on one timer: moved later, the timer stays; moved earlier, it is re-armed. */
class Deadline {
  message = "";
  private name: TimeoutName = "total";
  private at = Infinity;
  private due = Infinity;
  private timer: Timer | null = null;

  constructor(private readonly expire: (name: TimeoutName) => void) {}

  set(at: number, message: string, name: TimeoutName): void {
    this.at = at;
    this.message = message;
    this.name = name;
    if (at < this.due) this.arm(at);
  }

  clear(): void {
    if (this.timer !== null) clearTimer(this.timer);
    this.timer = null;
    this.at = this.due = Infinity;
  }

  private arm(at: number): void {
    if (this.timer !== null) clearTimer(this.timer);
    this.due = at;
    this.timer = setTimer(() => {
      this.timer = null;
      this.due = Infinity;
      if (now() >= this.at) this.expire(this.name);
      else if (this.at !== Infinity) this.arm(this.at);
    }, Math.max(0, at - now()));
  }
}

/** The chunks of an answer that is not streamed: never read. */
const NO_CHUNKS: ChunkSource = {
  read: () => Promise.resolve({ done: true, value: undefined }),
  cancel: () => Promise.resolve(),
};

function toAttemptError(err: unknown, signal: AbortSignal, scrub: (text: string) => string): AttemptError {
  if (signal.aborted && signal.reason instanceof AttemptError) return signal.reason;
  if (err instanceof AttemptError) return err;
  return new AttemptError(0, scrub(`could not reach the provider: ${String((err as Error)?.message ?? err)}`), "unreachable");
}

