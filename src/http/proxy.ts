import type { Context } from "hono";
import { now as clockNow } from "../core/clock";
import { addTokens, costOf, tokenColumns, toSafeSubunits, ZERO_TOKENS, type TokenCounts } from "../ledger/cost";
import { declaresTools, promptTokenBound, worstCaseCost } from "./request-hold";
import type { UsageStatus } from "../ledger/event";
import { bodyBuilderFor } from "../providers/bodies";
import { outputCapOf } from "../providers/output-cap";
import { excludeUnsupported } from "../providers/capabilities";
import { checkPremium } from "../providers/premium";
import { nativeResponsesBody, responsesOutputCap, servesResponsesNatively } from "../providers/responses-native";
import { runAttempts, stoppedByClient, type Served } from "../routing/attempts";
import { continuationFor, prefillOf } from "../routing/continue";
import { refreshHealth, reportAnswer } from "../routing/health";
import { keepKind } from "../routing/kind";
import { emptyPlanError, type PlannedAttempt } from "../routing/plan";
import { capLogged, CompletionLog } from "../streaming/completion-log";
import { ESTIMATE_METHOD, tokensOfBytes, utf8Length } from "../streaming/estimate";
import { continuableStreamResponse } from "../streaming/continuable-stream";
import { responderFor, type ResponderContext } from "../streaming/responder";
import { respondResponsesNative } from "../streaming/respond-responses-native";
import type { HonoEnv } from "./app";
import { RequestLifecycle } from "./lifecycle";
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
  // A cut answer is continued for chat and Messages clients (the continuable stream encodes those two), never
  // for a Responses client.
  const continuable = route.continueOnCut && greq.stream && client === greq.ingress;
  // Each provider was sent its own body: an abandoned attempt's prompt is estimated from that body's bytes.
  const life = new RequestLifecycle(c, started, greq, plan.attempts[0]!, (a) => tokensOfBytes(bodyBytes(a)));
  const { event } = life;
  // Budgets and rate limits: reserve the worst case of what is sent upstream (402 / 429 if it does not fit),
  // settled in finish().
  const hold = await life.holdFor(policy, greq, {
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
  const finish = (ended: UsageStatus): Promise<void> =>
    // An early-committed stream that never got its first token failed; it was not cut mid-answer (unless the
    // client gave up on it: then its prompts were billed).
    life.finish(served?.chunks.failed ? (life.abandoned.length > 0 ? "cancelled" : "error") : ended, (status) => {
      if (completion && status !== "error") event.completion = capLogged(completion.text());
      // A stream the client's own idle or total limit cut says nothing about the provider; nor does a continued
      // answer's pace (two providers produced it; the one that was cut was reported when it was).
      const continued = event.attempts.some((a) => a.segment !== undefined);
      if (status !== "error" && !(served && stoppedByClient(served)) && !(continued && status === "ok")) {
        reportAnswer(env, life.waitUntil, event.provider, event.model, {
          status,
          streamed: event.streamed,
          completionTokens: event.completion_tokens,
          ttfbMs: event.ttfb_ms,
          latencyMs: event.latency_ms,
          clientSlow: served?.clientSlow,
        });
      }
    });

  let served: Served | undefined;
  try {
    served = await runAttempts({
      ...life.attemptsInput(route),
      attempts: plan.attempts,
      stream: greq.stream,
      bodyFor: (planned) => upstreamBody(planned).text,
      endpointFor: greq.respondAs === "responses" ? (planned) => (native(planned) ? "responses" : undefined) : undefined,
      headersFor: greq.anthropicBeta
        ? (planned) => (planned.provider.format === "anthropic" ? { "anthropic-beta": greq.anthropicBeta! } : undefined)
        : undefined,
      // Continuing a cut stream on a fallback (below) needs the attempt that served from its first byte on.
      earlyCommit: !route.continueOnCut,
      onSwitch: (s) => life.servedBy(s.planned),
    });
  } catch (err) {
    throw life.failed(err);
  }

  const { planned } = served;
  life.servedBy(planned);
  const continuation = continuable && !native(planned)
    ? continuationFor(greq, planned, plan.attempts, {
        ...life.attemptsInput(route),
        headersFor: greq.anthropicBeta ? (p) => (p.provider.format === "anthropic" ? { "anthropic-beta": greq.anthropicBeta! } : undefined) : undefined,
      })
    : undefined;
  const ctx: ResponderContext = {
    // A prompt the provider did not count is estimated from the whole body it was sent (tools, system, all).
    greq: { ...greq, estimatePromptTokens: () => tokensOfBytes(bodyBytes(served!.planned)) },
    served,
    event,
    requestId,
    waitUntil: life.waitUntil,
    // A stream committed early whose first token never came (every candidate failed before it) was never
    // served: its attempts are failures, and failures are not billed. The served attempt is taken as it is now
    // (a stream committed early may have switched to a fallback). The client is shown what its budgets are
    // charged (the provider's counts stay as it reported them).
    bill: (counted: TokenCounts, estimated: boolean) => life.bill(served.chunks.failed ? ZERO_TOKENS : counted, estimated, served.planned.model),
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
      return life.charged(cost + life.billAbandoned());
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
