import type { Context } from "hono";
import { now as clockNow } from "../core/clock";
import * as z from "zod";
import { cachedCatalog, loadCatalog } from "../catalog/load";
import { trimSlash } from "../providers/openai-compatible";
import { resolveProvider } from "../providers/registry";
import { upstreamErrorMessage } from "../providers/upstream";
import { upstreamTimeouts } from "../core/time-limits";
import { emptyPlanError } from "../routing/plan";
import { holdCount } from "./request-hold";
import { estimatePromptTokens, utf8Length } from "../streaming/estimate";
import type { HonoEnv } from "./app";
import { parseWith, readJsonBody } from "./body";
import { GatewayError } from "../core/errors";
import { anthropicModelId } from "./messages";
import { planRequest } from "./plan-request";
import { ContentPart, ProviderPreferences } from "./schemas";

const CountTokensRequest = z.looseObject({
  model: z.string().min(1).max(256),
  messages: z.array(z.looseObject({ role: z.enum(["user", "assistant"]), content: z.union([z.string(), z.array(ContentPart)]) })).min(1, "at least one message is required"),
  system: z.union([z.string(), z.array(ContentPart)]).optional(),
  tools: z.array(z.looseObject({ name: z.string().min(1) })).optional(),
  provider: ProviderPreferences.optional(),
});

/**
 * POST /v1/messages/count_tokens: the input tokens of a Messages request, without running it (the Anthropic
 * SDK's `messages.countTokens`). The model is planned under the team's policy as a request for it would be
 * (a denied or unknown model gets the same 403 / 404, with reasons). For a model an Anthropic-format
 * provider serves, that provider counts (free there, so no usage event); for any other model the gateway
 * estimates (about 4 characters a token) and says so with `x-switchyard-estimated: true`.
 */
export async function countTokens(c: Context<HonoEnv>): Promise<Response> {
  const env = c.env;
  const { json } = await readJsonBody(c);
  const req = parseWith(CountTokensRequest, json);
  const body = json as Record<string, unknown>;
  const catalog = cachedCatalog() ?? (await loadCatalog(env));
  const model = anthropicModelId(catalog, req.model);
  const planning = await planRequest(c, [model], req.provider);
  const { plan } = planning;
  if (plan.attempts.length === 0) throw emptyPlanError(plan, clockNow());
  const headers: Record<string, string> = { "content-type": "application/json", "x-request-id": c.get("requestId") };

  const counter = plan.attempts.find((a) => a.provider.format === "anthropic");
  if (!counter) {
    const first = plan.attempts[0]!;
    const estimate = { input_tokens: estimatePromptTokens(req.messages, req.system) };
    return new Response(JSON.stringify(estimate), {
      headers: { ...headers, "x-switchyard-estimated": "true", "x-switchyard-model": first.model.id, "x-switchyard-provider": first.provider.id },
    });
  }

  const resolved = resolveProvider(env, counter.provider);
  if ("unavailable" in resolved) throw new GatewayError("upstream_unreachable", resolved.unavailable);
  const { models: _models, provider: _provider, ...upstreamBody } = body;
  const sent = JSON.stringify({ ...upstreamBody, model: counter.model.upstream_id });
  const caller = c.get("caller");
  // The provider's time is the team's: its request and token limits apply, and a spent budget refuses.
  const hold = await holdCount({
    env,
    waitUntil: (p) => c.executionCtx.waitUntil(p),
    policy: planning.policy,
    event: { team: caller.team, key_id: caller.key?.id ?? "admin", user: null, created_at: Date.now() },
    bytes: utf8Length(sent),
  });
  const beta = c.req.header("anthropic-beta");
  let res: Response;
  try {
    res = await fetch(`${trimSlash(resolved.baseUrl)}/v1/messages/count_tokens`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...resolved.adapter.staticHeaders,
        ...(beta ? { "anthropic-beta": beta } : {}),
        ...(resolved.apiKey ? resolved.adapter.authHeaders(resolved.apiKey) : {}),
      },
      body: sent,
      signal: AbortSignal.timeout(upstreamTimeouts(env).headers),
    });
  } catch (err) {
    const timedOut = (err as Error)?.name === "TimeoutError";
    throw new GatewayError(timedOut ? "upstream_timeout" : "upstream_unreachable", `${counter.provider.id}: ${timedOut ? "no answer in time" : String((err as Error)?.message ?? err)}`);
  } finally {
    hold.settle();
  }
  const text = await res.text();
  if (!res.ok) {
    const message = `${counter.provider.id}: ${upstreamErrorMessage(text)}`;
    if (res.status >= 400 && res.status < 500 && res.status !== 401 && res.status !== 403 && res.status !== 429) {
      throw new GatewayError("bad_request", message, { status: res.status });
    }
    throw new GatewayError(res.status === 429 ? "rate_limited" : "upstream_error", message);
  }
  return new Response(text, { headers: { ...headers, "x-switchyard-model": counter.model.id, "x-switchyard-provider": counter.provider.id } });
}
