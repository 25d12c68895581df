import type { Context } from "hono";
import { now as clockNow } from "../core/clock";
import { costOf, toSafeSubunits, type TokenCounts } from "../ledger/cost";
import { recordUsage } from "../ledger/batcher";
import { capLogged, holdRequest } from "../ledger/request-hold";
import type { UsageEvent, UsageStatus } from "../ledger/event";
import { bodyBuilderFor } from "../providers/bodies";
import { excludeUnsupported } from "../providers/capabilities";
import { checkPremium } from "../providers/premium";
import { runAttempts, type Served } from "../routing/attempts";
import { continuationFor } from "../routing/continue";
import { healthGate, refreshHealth, reportAnswer } from "../routing/health";
import { emptyPlanError } from "../routing/plan";
import { CompletionLog } from "../streaming/completion-log";
import { responderFor } from "../streaming/responder";
import type { HonoEnv } from "./app";
import { planRequest } from "./plan-request";
import type { GatewayRequest } from "./request";

// Body builders and responders register themselves, per (client format, provider format), on import.
import "../providers/translate-bodies";
import "../streaming/respond-anthropic";
import "../streaming/respond-openai";
import "../streaming/respond-translated";

const NOTHING_SERVED: TokenCounts = { prompt_tokens: 0, completion_tokens: 0, cached_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0 };

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
  const planning = await planRequest(c, greq.models, greq.provider, (format) =>
    bodyBuilderFor(greq.ingress, format) && responderFor(greq.ingress, format) ? null : `cannot translate ${greq.ingress} requests to ${format}`,
  );
  const { policy, route } = planning;
  const plan = checkPremium(excludeUnsupported(planning.plan, greq), greq, policy);
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
    prompt_tokens: 0,
    completion_tokens: 0,
    cached_tokens: 0,
    cache_write_tokens: 0,
    reasoning_tokens: 0,
    cost: 0,
    ttfb_ms: null,
    latency_ms: 0,
    created_at: started,
    attempts: [],
  };
  // Budgets and rate limits: reserve the worst case now (402 / 429 if it does not fit), settle in finish().
  const hold = await holdRequest({
    env, waitUntil, policy, greq, event,
    models: plan.attempts.map((a) => a.model),
    contentLength: c.req.header("content-length"),
  });
  // A team that keeps prompts (data.log_prompts) keeps the answers beside them.
  const completion = event.prompt !== undefined ? new CompletionLog() : undefined;
  let finished = false;
  const finish = (ended: UsageStatus): Promise<void> => {
    if (finished) return Promise.resolve();
    finished = true;
    // An early-committed stream that never got its first token failed; it was not cut mid-answer.
    const status = served?.chunks.failed ? "error" : ended;
    event.status = status;
    event.latency_ms = Date.now() - started;
    if (completion && status !== "error") event.completion = capLogged(completion.text());
    if (status !== "error") {
      reportAnswer(env, waitUntil, event.provider, event.model, {
        status,
        streamed: event.streamed,
        completionTokens: event.completion_tokens,
        ttfbMs: event.ttfb_ms,
        latencyMs: event.latency_ms,
      });
    }
    hold.settle();
    return recordUsage(env, c.executionCtx, event);
  };

  let served: Served | undefined;
  try {
    served = await runAttempts({
      env,
      attempts: plan.attempts,
      stream: greq.stream,
      bodyFor: (planned) => JSON.stringify(bodyBuilderFor(greq.ingress, planned.provider.format)!(greq, planned)),
      headersFor: greq.anthropicBeta
        ? (planned) => (planned.provider.format === "anthropic" ? { "anthropic-beta": greq.anthropicBeta! } : undefined)
        : undefined,
      clientSignal: c.req.raw.signal,
      log: event.attempts,
      retries: route.retries,
      timeouts: route.timeouts,
      started,
      health: healthGate(env, waitUntil),
      // Continuing a cut stream on a fallback (below) needs the attempt that served from its first byte on.
      earlyCommit: !route.continueOnCut,
      onSwitch: (s) => {
        event.model = s.planned.model.id;
        event.provider = s.planned.provider.id;
      },
    });
  } catch (err) {
    event.cancelled = event.attempts.at(-1)?.error === "client disconnected";
    // Queued, not awaited: the batch is written under waitUntil, never on the error's critical path.
    void finish("error");
    throw err;
  }

  const { planned } = served;
  event.model = planned.model.id;
  event.provider = planned.provider.id;
  return responderFor(greq.ingress, planned.provider.format)!({
    greq,
    served,
    event,
    requestId,
    waitUntil: (p) => c.executionCtx.waitUntil(p),
    bill: (counted: TokenCounts, estimated: boolean) => {
      // A stream committed early whose first token never came (every candidate failed before it) was never
      // served: its attempts are failures, and failures are not billed.
      const tokens = served.chunks.failed ? NOTHING_SERVED : counted;
      // The served attempt, as it is now: a stream committed early may have switched to a fallback.
      const cost = costOf(tokens, served.planned.model.pricing);
      Object.assign(event, tokens, { cost: toSafeSubunits(cost), estimated });
      return cost;
    },
    finish,
    completion,
    continuation: route.continueOnCut
      ? continuationFor(greq, planned, plan.attempts, {
          env, clientSignal: c.req.raw.signal, log: event.attempts, timeouts: route.timeouts, started, health: healthGate(env, waitUntil),
        })
      : undefined,
  });
}
