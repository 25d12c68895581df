import type { Context } from "hono";
import { builtinCatalog, type CatalogModel, type ProviderInfo } from "../catalog";
import { costOf, toSafeSubunits, usdNumber, type TokenCounts } from "../ledger/cost";
import { recordUsage } from "../ledger/batcher";
import type { Attempt, UsageEvent, UsageStatus } from "../ledger/event";
import { tokensFromOpenAIUsage } from "../providers/openai-usage";
import { resolveProvider } from "../providers/registry";
import type { ResolvedProvider } from "../providers/types";
import { AttemptError, retryAfterMs, sendUpstream, upstreamErrorMessage } from "../providers/upstream";
import { describeEmptyPlan, planAttempts, type PlannedAttempt } from "../routing/plan";
import { contentText, estimatePromptTokens, estimateTokens } from "../streaming/estimate";
import { pumpOpenAIStream, type StreamEnd } from "../streaming/openai-passthrough";
import type { HonoEnv } from "./app";
import { maxBodyBytes, parseWith, readJsonBody } from "./body";
import { GatewayError } from "./errors";
import { ChatRequest, GATEWAY_ONLY_FIELDS } from "./schemas";

/** Default time limits (ms). */
export const TIMEOUTS = {
  /** Stream: response headers from the provider. */
  headers: 15_000,
  /** Stream: silence between chunks. */
  idle: 30_000,
  /** Whole request (a non-stream answer arrives only when complete). */
  total: 300_000,
};

/** Statuses after which another provider may succeed. */
const FAILOVER_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

const encoder = new TextEncoder();

interface Served {
  planned: PlannedAttempt;
  resolved: ResolvedProvider;
  response: Response;
  controller: AbortController;
}

/** POST /v1/chat/completions: OpenAI format in, the planned providers tried in order, the answer out. */
export async function chatCompletions(c: Context<HonoEnv>): Promise<Response> {
  const started = Date.now();
  const env = c.env;
  const requestId = c.get("requestId");
  const caller = c.get("caller");
  const raw = (await readJsonBody(c.req.raw, maxBodyBytes(env))) as Record<string, unknown>;
  const req = parseWith(ChatRequest, raw);

  const plan = planAttempts({
    models: req.model !== undefined ? [req.model, ...(req.models ?? [])] : req.models!,
    catalog: builtinCatalog,
    providerUnavailable: (id) => {
      const r = resolveProvider(env, id);
      return "unavailable" in r ? r.unavailable : null;
    },
  });
  if (plan.attempts.length === 0) {
    const { code, message } = describeEmptyPlan(plan);
    throw new GatewayError(code, message, { details: { excluded: plan.excluded, unknown: plan.unknown } });
  }

  const stream = req.stream === true;
  const upstreamBody: Record<string, unknown> = { ...raw };
  for (const f of GATEWAY_ONLY_FIELDS) delete upstreamBody[f];
  if (stream) upstreamBody.stream_options = { ...(req.stream_options ?? {}), include_usage: true };

  const event: UsageEvent = {
    id: requestId,
    team: caller.team,
    key_id: caller.key?.id ?? "admin",
    user: req.user ?? null,
    model_requested: req.model ?? req.models![0]!,
    model: plan.attempts[0]!.model.id,
    provider: plan.attempts[0]!.provider.id,
    status: "error",
    streamed: stream,
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
  const clientSignal = c.req.raw.signal;
  const record = (status: UsageStatus) => {
    event.status = status;
    event.latency_ms = Date.now() - started;
    return recordUsage(env, c.executionCtx, event);
  };

  let lastError: AttemptError | undefined;
  let served: Served | undefined;
  for (const planned of plan.attempts) {
    const resolved = resolveProvider(env, planned.provider.id) as ResolvedProvider;
    const t0 = Date.now();
    const controller = new AbortController();
    const onClientAbort = () => controller.abort(new AttemptError(0, "client disconnected", "cancelled"));
    clientSignal?.addEventListener("abort", onClientAbort);
    const limit = stream ? TIMEOUTS.headers : TIMEOUTS.total;
    const timer = setTimeout(() => controller.abort(new AttemptError(0, `no response from ${planned.provider.id} within ${limit} ms`, "timeout")), limit);
    const noteAttempt = (status: number, ok: boolean, error?: string) =>
      event.attempts.push({ provider: planned.provider.id, model: planned.model.id, status, ok, error, latency_ms: Date.now() - t0 } satisfies Attempt);
    try {
      const response = await sendUpstream({
        provider: resolved,
        upstreamModel: planned.model.upstream_id,
        stream,
        body: JSON.stringify({ ...upstreamBody, model: planned.model.upstream_id }),
        signal: controller.signal,
      });
      if (response.ok) {
        if (stream) clearTimeout(timer);
        noteAttempt(response.status, true);
        served = { planned, resolved, response, controller };
        if (!stream) {
          try {
            return await finishJson(served, event, req.messages, requestId, () => record("ok"));
          } finally {
            clearTimeout(timer);
            clientSignal?.removeEventListener("abort", onClientAbort);
          }
        }
        return finishStream(c, served, event, req.messages, requestId, record, () =>
          clientSignal?.removeEventListener("abort", onClientAbort),
        );
      }
      const text = await response.text().catch(() => "");
      lastError = new AttemptError(response.status, upstreamErrorMessage(text), "http", retryAfterMs(response.headers));
      noteAttempt(response.status, false, lastError.message);
    } catch (err) {
      lastError = toAttemptError(err, controller.signal);
      noteAttempt(lastError.status, false, lastError.message);
      if (lastError.kind === "cancelled") break;
    } finally {
      if (!served || !stream) clearTimeout(timer);
      if (!served) clientSignal?.removeEventListener("abort", onClientAbort);
    }
    if (lastError.kind === "http" && !FAILOVER_STATUSES.has(lastError.status)) break;
  }

  event.cancelled = lastError?.kind === "cancelled";
  await record("error");
  throw clientError(lastError!, event.attempts.at(-1)!.provider);
}

function toAttemptError(err: unknown, signal: AbortSignal): AttemptError {
  if (signal.aborted && signal.reason instanceof AttemptError) return signal.reason;
  if (err instanceof AttemptError) return err;
  return new AttemptError(0, `could not reach the provider: ${String((err as Error)?.message ?? err)}`, "unreachable");
}

/** The error a client sees when no attempt succeeded, in our shape, with the provider's status for 4xx. */
function clientError(err: AttemptError, provider: string): GatewayError {
  const details = { provider };
  if (err.kind === "timeout") return new GatewayError("upstream_timeout", err.message, { details });
  if (err.kind === "cancelled") return new GatewayError("request_timeout", "the client disconnected", { status: 408, details });
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

function servedHeaders(requestId: string, model: CatalogModel, provider: ProviderInfo, contentType: string): Headers {
  return new Headers({
    "content-type": contentType,
    "x-request-id": requestId,
    "x-switchyard-provider": provider.id,
    "x-switchyard-model": model.id,
  });
}

function applyTokens(event: UsageEvent, tokens: TokenCounts, model: CatalogModel): bigint {
  const cost = costOf(tokens, model.pricing);
  Object.assign(event, tokens, { cost: toSafeSubunits(cost), model: model.id });
  return cost;
}

/** The usage object clients see: the provider's, plus `cost` in dollars. */
function usageWithCost(upstream: unknown, tokens: TokenCounts, cost: bigint): Record<string, unknown> {
  const base = upstream && typeof upstream === "object" ? (upstream as Record<string, unknown>) : {
    prompt_tokens: tokens.prompt_tokens,
    completion_tokens: tokens.completion_tokens,
    total_tokens: tokens.prompt_tokens + tokens.completion_tokens,
  };
  return { ...base, cost: usdNumber(cost) };
}

async function finishJson(
  s: Served,
  event: UsageEvent,
  messages: readonly { content?: unknown }[],
  requestId: string,
  record: () => Promise<void>,
): Promise<Response> {
  const model = s.planned.model;
  const text = await s.response.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    event.attempts.at(-1)!.ok = false;
    event.attempts.at(-1)!.error = "provider returned a body that is not JSON";
    await record().catch(() => {});
    throw new GatewayError("upstream_error", `${s.planned.provider.id} returned a response that is not JSON`);
  }
  let tokens = tokensFromOpenAIUsage(json.usage);
  if (!tokens) {
    const choices = json.choices as { message?: { content?: unknown } }[] | undefined;
    tokens = {
      prompt_tokens: estimatePromptTokens(messages),
      completion_tokens: estimateTokens(contentText(choices?.[0]?.message?.content)),
      cached_tokens: 0,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
    };
    event.estimated = true;
  }
  event.provider = s.planned.provider.id;
  event.ttfb_ms = Date.now() - event.created_at;
  const cost = applyTokens(event, tokens, model);
  json.usage = usageWithCost(json.usage, tokens, cost);
  json.model = model.id;
  json.provider = s.planned.provider.name;
  void record();
  return new Response(JSON.stringify(json), {
    status: 200,
    headers: servedHeaders(requestId, model, s.planned.provider, "application/json"),
  });
}

const STREAM_STATUS: Record<StreamEnd, UsageStatus> = { done: "ok", cut: "cut", idle: "cut", client_gone: "cancelled" };

function finishStream(
  c: Context<HonoEnv>,
  s: Served,
  event: UsageEvent,
  messages: readonly { content?: unknown }[],
  requestId: string,
  record: (status: UsageStatus) => Promise<void>,
  cleanup: () => void,
): Response {
  const model = s.planned.model;
  const provider = s.planned.provider;
  event.provider = provider.id;
  event.model = model.id;
  const { readable, writable } = new IdentityTransformStream();
  const writer = writable.getWriter();
  const reader = s.response.body!.getReader();
  let billed = false;

  const bill = (usageChunk: Record<string, unknown> | null, dataEvents: number): bigint => {
    let tokens = tokensFromOpenAIUsage(usageChunk?.usage);
    if (!tokens) {
      event.estimated = true;
      tokens = {
        prompt_tokens: estimatePromptTokens(messages),
        completion_tokens: dataEvents,
        cached_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
      };
    }
    billed = true;
    return applyTokens(event, tokens, model);
  };

  const work = (async () => {
    const result = await pumpOpenAIStream({
      reader,
      writer,
      onFirstChunk: () => (event.ttfb_ms = Date.now() - event.created_at),
      idleMs: TIMEOUTS.idle,
      abortUpstream: (why) => s.controller.abort(new AttemptError(0, why, why.startsWith("client") ? "cancelled" : "timeout")),
      usageEvent: (chunk, dataEvents) => {
        const cost = bill(chunk, dataEvents);
        const out: Record<string, unknown> = chunk
          ? { ...chunk }
          : { id: requestId, object: "chat.completion.chunk", created: Math.floor(event.created_at / 1000), choices: [] };
        out.model = model.id;
        out.provider = provider.name;
        out.usage = usageWithCost(chunk?.usage, { ...event }, cost);
        return encoder.encode(`data: ${JSON.stringify(out)}\n\n`);
      },
      errorEvent: (message, code) =>
        encoder.encode(
          `data: ${JSON.stringify({
            id: requestId,
            object: "chat.completion.chunk",
            created: Math.floor(event.created_at / 1000),
            model: model.id,
            provider: provider.name,
            error: { code, message },
            choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }],
          })}\n\n`,
        ),
    });
    if (!billed) bill(result.usageChunk, result.dataEvents);
    event.cancelled = result.end === "client_gone";
    if (result.end !== "done") {
      const last = event.attempts.at(-1)!;
      last.error = result.error ?? (event.cancelled ? "client disconnected" : undefined);
    }
    cleanup();
    await record(STREAM_STATUS[result.end]);
  })();
  c.executionCtx.waitUntil(work);
  return new Response(readable, {
    status: 200,
    headers: (() => {
      const h = servedHeaders(requestId, model, provider, "text/event-stream");
      h.set("cache-control", "no-cache");
      return h;
    })(),
  });
}
