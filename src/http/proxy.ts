import type { Context } from "hono";
import { now as clockNow } from "../core/clock";
import { addTokens, costOf, tokenColumns, toSafeSubunits, ZERO_TOKENS, type TokenCounts } from "../ledger/cost";
import { recordUsage } from "../ledger/batcher";
import { capLogged, declaresTools, holdRequest, promptTokenBound, worstCaseCost } from "./request-hold";
import type { UsageEvent, UsageStatus } from "../ledger/event";
import { bodyBuilderFor } from "../providers/bodies";
import { outputCapOf } from "../providers/output-cap";
import { excludeUnsupported } from "../providers/capabilities";
import { checkPremium } from "../providers/premium";
import { nativeResponsesBody, responsesOutputCap, servesResponsesNatively } from "../providers/responses-native";
import { scrubberFor } from "../providers/secrets";
import { runAttempts, stoppedByClient, type Served } from "../routing/attempts";
import { continuationFor, prefillOf } from "../routing/continue";
import { healthGate, refreshHealth, reportAnswer } from "../routing/health";
import { keepKind } from "../routing/kind";
import { emptyPlanError, type PlannedAttempt } from "../routing/plan";
import { CompletionLog } from "../streaming/completion-log";
import { ESTIMATE_METHOD, tokensOfBytes, utf8Length } from "../streaming/estimate";
import { continuableStreamResponse } from "../streaming/continuable-stream";
import { responderFor, type ResponderContext } from "../streaming/responder";
import { respondResponsesNative } from "../streaming/respond-responses-native";
import type { HonoEnv } from "./app";
import { billAbandoned } from "./abandoned";
import { planRequest } from "./plan-request";
import type { GatewayRequest } from "../core/request";

// Body builders and responders register themselves, per (client format, provider format), on import.
import "../providers/translate-bodies";
import "../streaming/respond-anthropic";
import "../streaming/respond-openai";
import "../streaming/respond-translated";
import "../streaming/respond-responses";

/** One attempt's upstream body, built once: the bytes sent, and what holds and estimates read from it. */
interface UpstreamBody {
  text: string;
  /** The output tokens it lets the provider produce (providers/output-cap.ts). */
  outputCap: number;
  /** Whether it declares tools (a provider adds a tool-use prompt of its own). */
  tools: boolean;
  bytes: number | null;
}

/**
 * The path every chat request takes once parsed, whatever its format: plan the attempts, try them in order,
 * and hand the provider's answer to the responder for (client format, provider format), which finishes the
 * response and the usage event.
 */
export async function proxy(c: Context<HonoEnv>, greq: GatewayRequest): Promise<Response> {
  const env = c.env;
  const requestId = c.get("requestId");
  const caller = c.get("caller");
  const started = Date.now();
  const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);

  // Health is read locally and synced in the background.
  refreshHealth(env, waitUntil, started);
  const client = greq.respondAs ?? greq.ingress;
  const planning = await planRequest(c, greq.models, greq.provider, (format) =>
    bodyBuilderFor(greq.ingress, format) && responderFor(client, format) ? null : `cannot translate ${client} requests to ${format}`,
  );
  const { policy, route } = planning;
  const plan = checkPremium(excludeUnsupported(keepKind(planning.plan, planning.catalog, "chat"), greq), greq, policy);
  if (plan.attempts.length === 0) throw emptyPlanError(plan, clockNow());

  const first = plan.attempts[0]!;
  const event: UsageEvent = {
    id: requestId,
    team: caller.team,
    key_id: caller.key?.id ?? "admin",
    user: greq.user,
    model_requested: greq.models[0]!,
    model: first.model.id,
    provider: first.provider.id,
    status: "error",
    streamed: greq.stream,
    cancelled: false,
    estimated: false,
    ...ZERO_TOKENS,
    cost: 0,
    ttfb_ms: null,
    latency_ms: 0,
    created_at: started,
    attempts: [],
  };
  // Each attempt's upstream body is built when first needed (by the hold, the send or an estimate) and reused.
  const bodies = new Map<PlannedAttempt, UpstreamBody>();
  // A Responses request goes as it came to a provider that serves the Responses API itself.
  const native = (planned: PlannedAttempt) => servesResponsesNatively(greq, planned);
  const upstreamBody = (planned: PlannedAttempt): UpstreamBody => {
    let b = bodies.get(planned);
    if (!b) {
      const passed = native(planned);
      const built = passed ? nativeResponsesBody(greq, planned) : bodyBuilderFor(greq.ingress, planned.provider.format)!(greq, planned);
      const outputCap = passed ? responsesOutputCap(built, planned.model) : outputCapOf(planned.provider.format, built, planned.model);
      b = { text: JSON.stringify(built), outputCap, tools: declaresTools(built), bytes: null };
      bodies.set(planned, b);
    }
    return b;
  };
  const bodyBytes = (planned: PlannedAttempt): number => {
    const b = upstreamBody(planned);
    return (b.bytes ??= utf8Length(b.text));
  };
  // Budgets and rate limits: reserve the worst case of what is sent upstream (402 / 429 if it does not fit),
  // settle in finish().
  // A cut answer is continued for chat and Messages clients (the continuable stream encodes those two), never
  // for a Responses client.
  const continuable = route.continueOnCut && greq.stream && client === greq.ingress;
  const hold = await holdRequest({
    env, waitUntil, policy, greq, event,
    upstream: () => plan.attempts.map((a) => ({ model: a.model, bytes: bodyBytes(a), outputCap: upstreamBody(a).outputCap, tools: upstreamBody(a).tools })),
    // A continuation re-sends the prompt with the answer so far (at most the largest output cap, in tokens) and
    // may produce its own output: the hold covers one. A continuation that would not fit is not asked.
    continuation: continuable
      ? () => {
          const answerCap = Math.max(...plan.attempts.map((a) => upstreamBody(a).outputCap));
          return plan.attempts
            .filter((a) => prefillOf(a) !== "none")
            .map((a) => ({ model: a.model, bytes: bodyBytes(a) + answerCap, outputCap: upstreamBody(a).outputCap, tools: upstreamBody(a).tools }));
        }
      : undefined,
  });
  // A team that keeps prompts (data.log_prompts) keeps the answers beside them.
  const completion = event.prompt !== undefined ? new CompletionLog() : undefined;
  /** Attempts the provider had been sent and the client gave up on (routing/attempts.ts onAbandoned). */
  const abandoned: PlannedAttempt[] = [];
  // Each provider was sent its own body: an abandoned attempt's prompt is estimated from that body's bytes.
  const billAbandonedPrompts = () => billAbandoned(event, abandoned, (a) => tokensOfBytes(bodyBytes(a)));
  let finished = false;
  const finish = (ended: UsageStatus): Promise<void> => {
    if (finished) return Promise.resolve();
    finished = true;
    // An early-committed stream that never got its first token failed; it was not cut mid-answer (unless the
    // client gave up on it: then its prompts were billed).
    const status = served?.chunks.failed ? (abandoned.length > 0 ? "cancelled" : "error") : ended;
    if (status === "cancelled") event.cancelled = true;
    event.status = status;
    event.latency_ms = Date.now() - started;
    if (completion && status !== "error") event.completion = capLogged(completion.text());
    // A stream the client's own idle or total limit cut says nothing about the provider; nor does a continued
    // answer's pace (two providers produced it; the one that was cut was reported when it was).
    const continued = event.attempts.some((a) => a.segment !== undefined);
    if (status !== "error" && !(served && stoppedByClient(served)) && !(continued && status === "ok")) {
      reportAnswer(env, waitUntil, event.provider, event.model, {
        status,
        streamed: event.streamed,
        completionTokens: event.completion_tokens,
        ttfbMs: event.ttfb_ms,
        latencyMs: event.latency_ms,
        clientSlow: served?.clientSlow,
      });
    }
    hold.settle();
    // Whatever a provider said on the way (its errors are quoted in the attempts) enters the ledger without credentials.
    if (event.attempts.some((a) => a.error !== undefined)) {
      const scrub = scrubberFor(env);
      for (const a of event.attempts) if (a.error !== undefined) a.error = scrub(a.error);
    }
    return recordUsage(env, c.executionCtx, event);
  };

  let served: Served | undefined;
  try {
    served = await runAttempts({
      env,
      attempts: plan.attempts,
      stream: greq.stream,
      bodyFor: (planned) => upstreamBody(planned).text,
      endpointFor: greq.respondAs === "responses" ? (planned) => (native(planned) ? "responses" : undefined) : undefined,
      headersFor: greq.anthropicBeta
        ? (planned) => (planned.provider.format === "anthropic" ? { "anthropic-beta": greq.anthropicBeta! } : undefined)
        : undefined,
      clientSignal: c.req.raw.signal,
      log: event.attempts,
      retries: route.retries,
      timeouts: route.timeouts,
      gatewayTimeouts: route.gatewayTimeouts,
      started,
      health: healthGate(env, waitUntil),
      // Continuing a cut stream on a fallback (below) needs the attempt that served from its first byte on.
      earlyCommit: !route.continueOnCut,
      onSwitch: (s) => {
        event.model = s.planned.model.id;
        event.provider = s.planned.provider.id;
      },
      onAbandoned: (planned) => abandoned.push(planned),
    });
  } catch (err) {
    event.cancelled = event.attempts.at(-1)?.error === "client disconnected";
    if (abandoned.length > 0) {
      const last = abandoned.at(-1)!;
      event.model = last.model.id;
      event.provider = last.provider.id;
      billAbandonedPrompts();
      event.cancelled = true;
      void finish("cancelled");
      throw err;
    }
    // Queued, not awaited: the batch is written under waitUntil, never on the error's critical path.
    void finish("error");
    throw err;
  }

  const { planned } = served;
  event.model = planned.model.id;
  event.provider = planned.provider.id;
  const continuation = continuable && !native(planned)
    ? continuationFor(greq, planned, plan.attempts, {
        env, clientSignal: c.req.raw.signal, log: event.attempts, timeouts: route.timeouts, gatewayTimeouts: route.gatewayTimeouts, started,
        health: healthGate(env, waitUntil),
        headersFor: greq.anthropicBeta ? (p) => (p.provider.format === "anthropic" ? { "anthropic-beta": greq.anthropicBeta! } : undefined) : undefined,
        onAbandoned: (p) => abandoned.push(p),
      })
    : undefined;
  const ctx: ResponderContext = {
    // A prompt the provider did not count is estimated from the whole body it was sent (tools, system, all).
    greq: { ...greq, estimatePromptTokens: () => tokensOfBytes(bodyBytes(served!.planned)) },
    served,
    event,
    requestId,
    waitUntil: (p) => c.executionCtx.waitUntil(p),
    bill: (counted: TokenCounts, estimated: boolean) => {
      // A stream committed early whose first token never came (every candidate failed before it) was never
      // served: its attempts are failures, and failures are not billed.
      const tokens = served.chunks.failed ? ZERO_TOKENS : counted;
      // The served attempt, as it is now: a stream committed early may have switched to a fallback.
      const cost = costOf(tokens, served.planned.model.pricing);
      Object.assign(event, tokens, { cost: toSafeSubunits(cost), estimated, estimate_method: estimated ? ESTIMATE_METHOD : null });
      // The client is shown what its budgets are charged (the provider's counts stay as it reported them).
      return hold.charged(cost + billAbandonedPrompts());
    },
    finish,
    completion,
    continuation,
    billSegments: (parts) => {
      const totals: TokenCounts = { ...ZERO_TOKENS };
      let cost = 0n;
      let estimated = false;
      for (const p of parts) {
        const c = costOf(p.tokens, p.planned.model.pricing);
        cost += c;
        estimated ||= p.estimated;
        addTokens(totals, p.tokens);
        const attempt = event.attempts[p.attempt];
        if (attempt) attempt.segment = { ...tokenColumns(p.tokens), cost: toSafeSubunits(c), estimated: p.estimated };
      }
      Object.assign(event, totals, { cost: toSafeSubunits(cost), estimated, estimate_method: estimated ? ESTIMATE_METHOD : null });
      return hold.charged(cost + billAbandonedPrompts());
    },
    continuationFits: (spent, p, body, bytes) => {
      if (hold.limit === null) return true;
      const worst = worstCaseCost(p.model, promptTokenBound(bytes, hold.images, declaresTools(body)), outputCapOf(p.provider.format, body, p.model), greq.webSearches);
      return spent + worst <= hold.limit;
    },
  };
  if (native(planned)) return respondResponsesNative(ctx);
  return continuation ? continuableStreamResponse(ctx, continuation) : responderFor(client, planned.provider.format)!(ctx);
}
