import type { Context } from "hono";
import * as z from "zod";
import { now as clockNow } from "../core/clock";
import { usdNumber, ZERO_TOKENS, type TokenCounts } from "../ledger/cost";
import type { UsageStatus } from "../ledger/event";
import { GATEWAY_ONLY_FIELDS } from "../providers/bodies";
import { runAttempts, type Served } from "../routing/attempts";
import { refreshHealth } from "../routing/health";
import { keepKind } from "../routing/kind";
import { emptyPlanError, type PlannedAttempt } from "../routing/plan";
import { tokensOfBytes, utf8Length } from "../streaming/estimate";
import { readAnswerJson, servedHeaders, type ResponderContext } from "../streaming/responder";
import type { HonoEnv } from "./app";
import { RequestLifecycle } from "./lifecycle";
import { parseWith, readJsonBody } from "./body";
import { GatewayError } from "../core/errors";
import { planRequest } from "./plan-request";
import type { GatewayRequest } from "../core/request";
import { ProviderPreferences } from "./schemas";

/** The most inputs one request may embed (OpenAI's limit). */
const MAX_INPUTS = 2048;

/** Why `input` is not one of OpenAI's four shapes (a string, strings, token ids, arrays of token ids), or null. */
function inputProblem(input: unknown): string | null {
  const tokenIds = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((t) => Number.isInteger(t) && (t as number) >= 0);
  if (input === undefined) return "input is required";
  if (typeof input === "string") return input.length > 0 ? null : "input must not be empty";
  if (!Array.isArray(input)) return "input must be a string, an array of strings, or an array of token ids (or of arrays of them)";
  if (input.length === 0) return "input must not be empty";
  if (input.length > MAX_INPUTS) return `at most ${MAX_INPUTS} inputs per request (got ${input.length})`;
  if (input.every((v) => typeof v === "number")) return tokenIds(input) ? null : "token ids must be non-negative integers";
  for (let i = 0; i < input.length; i++) {
    const v = input[i];
    if (typeof v === "string" ? v.length === 0 : !tokenIds(v)) {
      return `input[${i}] must be a non-empty string or a non-empty array of non-negative integer token ids`;
    }
  }
  if (!input.every((v) => typeof v === typeof input[0])) return "input mixes strings and token arrays";
  return null;
}

/**
 * OpenAI's embeddings request, plus OpenRouter's routing fields. `encoding_format` and `dimensions` pass
 * through to the provider (which refuses a dimension count its model lacks); other fields pass through too.
 */
const EmbeddingsRequest = z
  .looseObject({
    model: z.string().min(1).max(256).optional(),
    models: z.array(z.string().min(1).max(256)).min(1).max(16).optional(),
    input: z.unknown().optional(),
    encoding_format: z.enum(["float", "base64"]).optional(),
    dimensions: z.number().int().positive().max(65_536).optional(),
    user: z.string().max(256).optional(),
    provider: ProviderPreferences.optional(),
  })
  .superRefine((r, ctx) => {
    const problem = inputProblem(r.input);
    if (problem) ctx.addIssue({ code: "custom", path: ["input"], message: problem });
  })
  .refine((r) => r.model !== undefined || r.models !== undefined, { message: "model is required", path: ["model"] });

/**
 * Prompt tokens of an input the provider did not count: token ids are counted, text estimated (bytes/4).
 * Never more than the hold's bound (the upstream body's bytes).
 */
function estimateInputTokens(input: string | string[] | number[] | number[][]): number {
  if (typeof input === "string") return tokensOfBytes(utf8Length(input));
  let n = 0;
  for (const v of input) n += typeof v === "number" ? 1 : typeof v === "string" ? tokensOfBytes(utf8Length(v)) : v.length;
  return n;
}

/** The prompt tokens a provider's `usage` reports, or null when it reports none. */
function reportedPromptTokens(usage: unknown): number | null {
  const pt = (usage as { prompt_tokens?: unknown } | null | undefined)?.prompt_tokens;
  return typeof pt === "number" && Number.isInteger(pt) && pt >= 0 ? pt : null;
}

/**
 * POST /v1/embeddings: OpenAI's format to every provider that serves embeddings (OpenAI-compatible ones at
 * `<base>/embeddings`, Gemini at its OpenAI-compatible endpoint). The path of a chat request without the
 * stream: policy and planning, budgets and rate limits held on the prompt's bound (nothing is generated),
 * failover before the answer, and the usage event priced per input token from the provider's
 * `usage.prompt_tokens`. The answer is the provider's JSON, `model` the catalog id, `usage.cost` added.
 */
export async function embeddings(c: Context<HonoEnv>): Promise<Response> {
  const { json } = await readJsonBody(c);
  const req = parseWith(EmbeddingsRequest, json);
  const body = json as Record<string, unknown>;
  const input = req.input as string | string[] | number[] | number[][];
  const env = c.env;
  const started = Date.now();
  const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
  const models = req.model !== undefined ? [req.model, ...(req.models ?? [])] : req.models!;

  refreshHealth(env, waitUntil, started);
  const planning = await planRequest(c, models, req.provider, (format) => (format === "anthropic" ? "serves no embeddings" : null));
  const { policy, route } = planning;
  const plan = keepKind(planning.plan, planning.catalog, "embedding");
  if (plan.attempts.length === 0) throw emptyPlanError(plan, clockNow());

  const greq: GatewayRequest = {
    ingress: "openai",
    body,
    models,
    stream: false,
    user: req.user ?? null,
    maxTokens: null,
    provider: req.provider,
    estimatePromptTokens: () => estimateInputTokens(input),
    messages: [],
  };
  // An abandoned attempt's prompt is estimated from the input (every provider gets the same).
  const life = new RequestLifecycle(c, started, greq, plan.attempts[0]!, () => estimateInputTokens(input));
  const { event } = life;
  // Every provider gets the same body but for the model name.
  const bodies = new Map<PlannedAttempt, string>();
  const upstreamBody = (planned: PlannedAttempt): string => {
    let text = bodies.get(planned);
    if (text === undefined) {
      const b: Record<string, unknown> = { ...body, model: planned.model.upstream_id };
      for (const f of GATEWAY_ONLY_FIELDS) delete b[f];
      text = JSON.stringify(b);
      bodies.set(planned, text);
    }
    return text;
  };
  // The prompt's bound is the upstream body's bytes (a token covers at least one byte of text, and a token id
  // at least one digit); nothing is generated, so the output cap is 0.
  await life.holdFor(policy, greq, {
    upstream: () => plan.attempts.map((a) => ({ model: a.model, bytes: utf8Length(upstreamBody(a)), outputCap: 0, tools: false })),
  });

  let served: Served;
  try {
    served = await runAttempts({
      ...life.attemptsInput(route),
      attempts: plan.attempts,
      stream: false,
      endpoint: "embeddings",
      bodyFor: upstreamBody,
    });
  } catch (err) {
    throw life.failed(err);
  }

  const { planned } = served;
  life.servedBy(planned);
  const bill = (tokens: TokenCounts, estimated: boolean) => life.bill(tokens, estimated, planned.model);
  const finish = (status: UsageStatus) => life.finish(status);
  const ctx: ResponderContext = { greq, served, event, requestId: event.id, waitUntil: life.waitUntil, bill, finish };
  const answer = await readAnswerJson(ctx);
  if (!Array.isArray(answer.data)) {
    event.attempts.at(-1)!.ok = false;
    event.attempts.at(-1)!.error = "provider's answer has no data array";
    void finish("error");
    throw new GatewayError("upstream_error", `${planned.provider.id}: the answer is not a list of embeddings`);
  }
  const reported = reportedPromptTokens(answer.usage);
  const prompt = reported ?? greq.estimatePromptTokens();
  const cost = bill({ ...ZERO_TOKENS, prompt_tokens: prompt }, reported === null);
  const usage = answer.usage && typeof answer.usage === "object" ? (answer.usage as Record<string, unknown>) : { prompt_tokens: prompt, total_tokens: prompt };
  answer.model = planned.model.id;
  answer.usage = { ...usage, cost: usdNumber(cost) };
  void finish("ok");
  return new Response(JSON.stringify(answer), { status: 200, headers: servedHeaders(ctx, "application/json") });
}
