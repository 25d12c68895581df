import { usdNumber, type TokenCounts } from "../ledger/cost";
import type { UsageStatus } from "../ledger/event";
import type { Json } from "../formats/translate-common";
import { tokensFromAnthropicUsage } from "../formats/usage-formats";
import { TIMEOUTS } from "../core/time-limits";
import { pumpAnthropicStream } from "./pump-anthropic";
import { answerText, estimateTokens, tokensOfBytes } from "./estimate";
import type { StreamEnd } from "./pump-openai";
import { readAnswerJson, registerResponder, servedHeaders, type ResponderContext } from "./responder";
import { anthropicStreamError } from "./encode-anthropic";

/*
 * Anthropic in, Anthropic out. The provider's answer reaches the client as sent, with `usage.cost` added
 * (in the JSON body, or in the stream's message_delta event); usage is read from message_start and
 * message_delta without parsing any other event.
 */

const encoder = new TextEncoder();
const STREAM_STATUS: Record<StreamEnd, UsageStatus> = { done: "ok", cut: "cut", idle: "cut", client_gone: "cancelled" };

function estimate(ctx: ResponderContext, completion: number, reported: TokenCounts | null): TokenCounts {
  return {
    prompt_tokens: reported && reported.prompt_tokens > 0 ? reported.prompt_tokens : ctx.greq.estimatePromptTokens(),
    completion_tokens: Math.max(completion, reported?.completion_tokens ?? 0),
    cached_tokens: reported?.cached_tokens ?? 0,
    cache_write_tokens: reported?.cache_write_tokens ?? 0,
    reasoning_tokens: 0,
  };
}

async function anthropicJson(ctx: ResponderContext): Promise<Response> {
  const { planned } = ctx.served;
  const json: Json = await readAnswerJson(ctx);
  const reported = tokensFromAnthropicUsage(json.usage);
  const tokens = reported ?? estimate(ctx, estimateTokens(answerText(json.content)), null);
  const cost = ctx.bill(tokens, reported === null);
  json.usage = { ...(json.usage as Json | undefined), cost: usdNumber(cost) };
  json.model = planned.model.id;
  ctx.completion?.setMessage(json.content ?? null);
  void ctx.finish("ok");
  return new Response(JSON.stringify(json), { status: 200, headers: servedHeaders(ctx, "application/json") });
}

async function anthropicStream(ctx: ResponderContext): Promise<Response> {
  const { event } = ctx;
  const { readable, writable } = new IdentityTransformStream();
  const writer = writable.getWriter();
  let billed = false;
  const work = (async () => {
    const result = await pumpAnthropicStream({
      reader: ctx.served.chunks,
      writer,
      tap: ctx.completion?.tap("anthropic"),
      idleMs: ctx.served.timeouts?.idle ?? TIMEOUTS.idle,
      onFirstChunk: () => (event.ttfb_ms = Date.now() - event.created_at),
      abortUpstream: (why) => ctx.served.stop(why),
      onClientSlow: () => (ctx.served.clientSlow = true),
      messageDelta: (ev, usage) => {
        const tokens = tokensFromAnthropicUsage(usage);
        // Without an output count it is no final report: forwarded as sent, and the stream's text estimated.
        if (!tokens || typeof usage.output_tokens !== "number") return encoder.encode(`event: message_delta\ndata: ${JSON.stringify(ev)}\n\n`);
        const cost = ctx.bill(tokens, false);
        billed = true;
        const out = { ...ev, usage: { ...(ev.usage as Json | undefined), cost: usdNumber(cost) } };
        return encoder.encode(`event: message_delta\ndata: ${JSON.stringify(out)}\n\n`);
      },
      errorEvent: (message, status) => encoder.encode(anthropicStreamError(ctx.served.scrub(message), status)),
    });
    ctx.served.release();
    if (!billed) {
      const reported = tokensFromAnthropicUsage(result.usage);
      const final = result.usageFinal && reported !== null && typeof result.usage?.output_tokens === "number";
      // Without final counts: the text streamed, as the OpenAI-format passthrough estimates.
      ctx.bill(final ? reported : estimate(ctx, tokensOfBytes(result.textBytes), reported), !final);
    }
    event.cancelled = result.end === "client_gone";
    if (result.end !== "done") event.attempts.at(-1)!.error = result.error ?? "client disconnected";
    await ctx.finish(STREAM_STATUS[result.end]);
  })();
  ctx.waitUntil(work);
  return new Response(readable, { status: 200, headers: servedHeaders(ctx, "text/event-stream") });
}

registerResponder("anthropic", "anthropic", (ctx) => (ctx.greq.stream ? anthropicStream(ctx) : anthropicJson(ctx)));
