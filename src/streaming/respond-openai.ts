import { usdNumber, ZERO_TOKENS, type TokenCounts } from "../ledger/cost";
import type { UsageStatus } from "../ledger/event";
import { tokensFromOpenAIUsage } from "../formats/openai-usage";
import { TIMEOUTS } from "../core/time-limits";
import { answerText, estimateTokens, tokensOfBytes } from "./estimate";
import { pumpOpenAIStream, type StreamEnd } from "./pump-openai";
import { readAnswerJson, registerResponder, servedHeaders, type ResponderContext } from "./responder";

const encoder = new TextEncoder();

/** The usage object clients see: the provider's, plus `cost` in dollars. */
export function usageWithCost(upstream: unknown, tokens: TokenCounts, cost: bigint): Record<string, unknown> {
  const base =
    upstream && typeof upstream === "object"
      ? (upstream as Record<string, unknown>)
      : {
          prompt_tokens: tokens.prompt_tokens,
          completion_tokens: tokens.completion_tokens,
          total_tokens: tokens.prompt_tokens + tokens.completion_tokens,
        };
  return { ...base, cost: usdNumber(cost) };
}

function estimated(ctx: ResponderContext, completion: number): TokenCounts {
  return { ...ZERO_TOKENS, prompt_tokens: ctx.greq.estimatePromptTokens(), completion_tokens: completion };
}

/**
 * OpenAI in, OpenAI out, not streamed: the provider's JSON with `usage.cost`, `model` and `provider` set, and
 * `system_fingerprint` null where the provider sent none (OpenRouter's SDK requires the field; OpenAI and
 * OpenRouter always send it).
 */
async function openAIJson(ctx: ResponderContext): Promise<Response> {
  const { planned } = ctx.served;
  const json = await readAnswerJson(ctx);
  const reported = tokensFromOpenAIUsage(json.usage);
  const message = (json.choices as { message?: { content?: unknown } }[] | undefined)?.[0]?.message;
  const tokens = reported ?? estimated(ctx, estimateTokens(answerText(message)));
  const cost = ctx.bill(tokens, reported === null);
  json.usage = usageWithCost(json.usage, tokens, cost);
  json.model = planned.model.id;
  json.provider = planned.provider.name;
  ctx.completion?.setMessage(message ?? null);
  json.system_fingerprint ??= null;
  void ctx.finish("ok");
  return new Response(JSON.stringify(json), { status: 200, headers: servedHeaders(ctx, "application/json") });
}

const STREAM_STATUS: Record<StreamEnd, UsageStatus> = { done: "ok", cut: "cut", idle: "cut", client_gone: "cancelled" };

/** OpenAI in, OpenAI out, streamed: bytes pass through; the final usage chunk gains `cost`. */
async function openAIStream(ctx: ResponderContext): Promise<Response> {
  // ctx.served is read when needed, not once: a stream committed before its first token may switch to a
  // fallback (routing/first-token.ts), and the answer then names and bills the one that served it.
  const served = ctx.served;
  const { event, requestId } = ctx;
  const { readable, writable } = new IdentityTransformStream();
  const writer = writable.getWriter();
  const created = Math.floor(event.created_at / 1000);
  let billed: bigint | null = null;
  const bill = (usageChunk: Record<string, unknown> | null, textBytes: number): bigint => {
    const reported = tokensFromOpenAIUsage(usageChunk?.usage);
    billed = ctx.bill(reported ?? estimated(ctx, tokensOfBytes(textBytes)), reported === null);
    return billed;
  };

  const work = (async () => {
    const result = await pumpOpenAIStream({
      reader: served.chunks,
      writer,
      tap: ctx.completion?.tap("openai"),
      idleMs: ctx.served.timeouts?.idle ?? TIMEOUTS.idle,
      onFirstChunk: () => (event.ttfb_ms = Date.now() - event.created_at),
      abortUpstream: (why) => served.stop(why),
      onClientSlow: () => (served.clientSlow = true),
      usageEvent: (chunk, textBytes) => {
        const cost = bill(chunk, textBytes);
        const out: Record<string, unknown> = chunk ? { ...chunk } : { id: requestId, object: "chat.completion.chunk", created, choices: [] };
        out.model = served.planned.model.id;
        out.provider = served.planned.provider.name;
        out.usage = usageWithCost(chunk?.usage, event, cost);
        return encoder.encode(`data: ${JSON.stringify(out)}\n\n`);
      },
      errorEvent: (message, code) =>
        encoder.encode(
          `data: ${JSON.stringify({
            id: requestId,
            object: "chat.completion.chunk",
            created,
            model: served.planned.model.id,
            provider: served.planned.provider.name,
            error: { code, message: served.scrub(message) },
            choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }],
          })}\n\n`,
        ),
    });
    ctx.served.release();
    if (billed === null) bill(result.usageChunk, result.textBytes);
    event.cancelled = result.end === "client_gone";
    if (result.end !== "done") event.attempts.at(-1)!.error = result.error ?? "client disconnected";
    await ctx.finish(STREAM_STATUS[result.end]);
  })();
  ctx.waitUntil(work);
  return new Response(readable, { status: 200, headers: servedHeaders(ctx, "text/event-stream") });
}

registerResponder("openai", "openai", (ctx) =>
  ctx.greq.stream ? openAIStream(ctx) : openAIJson(ctx),
);
