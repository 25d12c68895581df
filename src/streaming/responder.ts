import type { WireFormat } from "../catalog/types";
import type { GatewayRequest } from "../core/request";
import { ZERO_TOKENS, type TokenCounts } from "../ledger/cost";
import type { UsageEvent, UsageStatus } from "../ledger/event";
import type { Served } from "../routing/attempts";
import type { Continuation } from "../routing/continue";
import type { PlannedAttempt } from "../routing/plan";
import type { CompletionLog } from "./completion-log";
import { AttemptError, clientError, GatewayError } from "../core/errors";

/** What a responder needs to turn a provider's 2xx answer into the client's response and a usage record. */
export interface ResponderContext {
  greq: GatewayRequest;
  served: Served;
  event: UsageEvent;
  requestId: string;
  waitUntil(p: Promise<unknown>): void;
  /**
   * Prices the tokens at the served model's catalog entry, sets them on the event; returns the picodollars
   * the request's budgets are charged (at most what it reserved: the cost the client is shown).
   */
  bill(tokens: TokenCounts, estimated: boolean): bigint;
  /** Records the request's outcome; called exactly once, when the answer is complete or abandoned. */
  finish(status: UsageStatus): Promise<void>;
  /** Set when the team's policy lets a stream cut mid-answer continue on a fallback (routing.continue_on_cut). */
  continuation?: Continuation;
  /**
   * Bills an answer produced in segments by several attempts (a continued answer): each at its own model's
   * prices, noted on its attempt; the event's totals are the sums. Returns what the budgets are charged.
   */
  billSegments?(parts: { planned: PlannedAttempt; attempt: number; tokens: TokenCounts; estimated: boolean }[]): bigint;
  /**
   * Whether continuing on `planned` with `body` (of `bytes` bytes) keeps the request within its budget hold,
   * `spent` being what the answer so far costs.
   */
  continuationFits?(spent: bigint, planned: PlannedAttempt, body: Record<string, unknown>, bytes: number): boolean;
  /** Set when the team's policy keeps prompts and completions (data.log_prompts): the answer goes here. */
  completion?: CompletionLog;
}

export type Responder = (ctx: ResponderContext) => Promise<Response>;

/** The formats a client may be answered in: the wire formats, and OpenAI's Responses. */
export type ClientFormat = WireFormat | "responses";

const responders = new Map<string, Responder>();

/** Registers the responder for one (client format, provider format) pair. */
export function registerResponder(ingress: ClientFormat, upstream: WireFormat, r: Responder): void {
  responders.set(`${ingress}>${upstream}`, r);
}

export function responderFor(ingress: ClientFormat, upstream: WireFormat): Responder | undefined {
  return responders.get(`${ingress}>${upstream}`);
}

/** The answer's headers, as a plain object: the Response builds its own Headers from it (one copy, not two). */
export function servedHeaders(ctx: ResponderContext, contentType: string): Record<string, string> {
  const h: Record<string, string> = {
    "content-type": contentType,
    "x-request-id": ctx.requestId,
    "x-switchyard-provider": ctx.served.planned.provider.id,
    "x-switchyard-model": ctx.served.planned.model.id,
  };
  if (contentType === "text/event-stream") h["cache-control"] = "no-cache";
  return h;
}

/**
 * The provider's whole answer (not streamed), parsed. A body that is not JSON, or that could not be read (the
 * total time limit passed), fails the attempt: the request is recorded as an error, queued rather than
 * awaited, and the client gets a 502 naming the provider (504 for a time limit). If the client gave up on the
 * answer (its own lower total limit ran out, or it hung up), the provider did the work all the same: the
 * request is billed its prompt, estimated, and recorded as cancelled.
 */
export async function readAnswerJson(ctx: ResponderContext): Promise<Record<string, unknown>> {
  const { planned, response, controller } = ctx.served;
  try {
    const json = JSON.parse(await response.text()) as Record<string, unknown>;
    ctx.event.ttfb_ms = Date.now() - ctx.event.created_at;
    return json;
  } catch (caught) {
    const err = controller.signal.aborted ? controller.signal.reason : caught;
    const last = ctx.event.attempts.at(-1)!;
    last.ok = false;
    if (err instanceof AttemptError && (err.byClient || err.kind === "cancelled")) {
      last.error = err.message;
      ctx.bill({ ...ZERO_TOKENS, prompt_tokens: ctx.greq.estimatePromptTokens() }, true);
      ctx.event.cancelled = true;
      void ctx.finish("cancelled");
      throw clientError(err, planned.provider.id, null, planned.model.id);
    }
    if (err instanceof AttemptError && err.kind === "timeout") {
      last.error = err.message;
      void ctx.finish("error");
      throw clientError(err, planned.provider.id, null, planned.model.id);
    }
    last.error = err instanceof AttemptError ? err.message : "provider returned a body that is not JSON";
    void ctx.finish("error");
    throw new GatewayError("upstream_error", `${planned.provider.id}: ${last.error}`);
  } finally {
    ctx.served.release();
  }
}
