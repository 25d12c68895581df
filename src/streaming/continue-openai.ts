import { costOf, toSafeSubunits, type TokenCounts } from "../ledger/cost";
import type { UsageStatus } from "../ledger/event";
import { tokensFromOpenAIUsage } from "../providers/openai-usage";
import type { Served } from "../routing/attempts";
import type { Continuation } from "../routing/continue";
import { estimateTokens, tokensOfBytes } from "./estimate";
import { pumpOpenAIStream, type PassthroughResult, type StreamEnd } from "./openai-passthrough";
import { usageWithCost } from "./respond-openai";
import { servedHeaders, type ResponderContext } from "./responder";

/**
 * OpenAI in, OpenAI out, streamed, where the team's policy allows continuing a cut answer on a fallback
 * (routing.continue_on_cut). The primary's bytes pass through as usual while its text is read on the side;
 * if it dies mid-answer the fallback is asked to continue from that text and its stream follows on the
 * same response. If no fallback continues, the client gets the primary's in-band error, as without the
 * policy. Billing: the cut part (estimated) at the primary's prices plus the continuation at the fallback's.
 */
const encoder = new TextEncoder();
const NOTHING = new Uint8Array(0);
const STATUS: Record<StreamEnd, UsageStatus> = { done: "ok", cut: "cut", idle: "cut", client_gone: "cancelled" };

/** A writer that forwards to `real`, shows each write to `tap`, and leaves closing to its owner. */
function tappedWriter(real: WritableStreamDefaultWriter<Uint8Array>, tap: (b: Uint8Array) => void): WritableStreamDefaultWriter<Uint8Array> {
  return {
    write: (b: Uint8Array) => {
      if (b.length === 0) return Promise.resolve();
      tap(b);
      return real.write(b);
    },
    close: () => Promise.resolve(),
    abort: (r?: unknown) => real.abort(r),
    releaseLock: () => {},
    get ready() {
      return real.ready;
    },
    get closed() {
      return real.closed;
    },
    get desiredSize() {
      return real.desiredSize;
    },
  } as WritableStreamDefaultWriter<Uint8Array>;
}

/** The text of the content deltas in whole SSE events. */
function contentOf(text: string): string {
  let out = "";
  for (const line of text.split("\n")) {
    if (!line.startsWith("data: {")) continue;
    try {
      const c = (JSON.parse(line.slice(6)) as { choices?: { delta?: { content?: unknown } }[] }).choices?.[0]?.delta?.content;
      if (typeof c === "string") out += c;
    } catch {
      // not an event we can read; the pump has judged it already
    }
  }
  return out;
}

export function openAIStreamContinuable(ctx: ResponderContext, cont: Continuation): Promise<Response> {
  const { event, requestId } = ctx;
  const { readable, writable } = new IdentityTransformStream();
  const writer = writable.getWriter();
  const created = Math.floor(event.created_at / 1000);
  const promptEstimate = ctx.greq.estimatePromptTokens();
  // Both parts of a continued answer reach the completion log, as the client got them.
  const tap = ctx.completion?.tap("openai");

  const chunkBytes = (served: Served, body: Record<string, unknown>) =>
    encoder.encode(`data: ${JSON.stringify({ id: requestId, object: "chat.completion.chunk", created, ...body, model: served.planned.model.id, provider: served.planned.provider.name })}\n\n`);
  const errorBytes = (served: Served, message: string, code: number) =>
    chunkBytes(served, { error: { code, message: served.scrub(message) }, choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }] });

  /** Bills the parts (the cut one first, estimated) and returns the total in picodollars. */
  const billParts = (parts: { served: Served; tokens: TokenCounts }[], estimated: boolean): bigint => {
    const total: TokenCounts = { prompt_tokens: 0, completion_tokens: 0, cached_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0 };
    let cost = 0n;
    for (const p of parts) {
      cost += costOf(p.tokens, p.served.planned.model.pricing);
      for (const k of Object.keys(total) as (keyof TokenCounts)[]) total[k]! += p.tokens[k] ?? 0;
    }
    Object.assign(event, total, { cost: toSafeSubunits(cost), estimated });
    return cost;
  };
  const tokensOf = (r: { usageChunk: Record<string, unknown> | null; textBytes: number }, prompt: number) =>
    tokensFromOpenAIUsage(r.usageChunk?.usage) ?? { prompt_tokens: prompt, completion_tokens: tokensOfBytes(r.textBytes), cached_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0 };

  const pump = (served: Served, w: WritableStreamDefaultWriter<Uint8Array>, onUsage: (r: { usageChunk: Record<string, unknown> | null; textBytes: number }) => bigint, onError: (m: string, c: number) => Uint8Array) =>
    pumpOpenAIStream({
      reader: served.chunks,
      writer: w,
      tap,
      idleMs: served.timeouts.idle,
      onFirstChunk: () => (event.ttfb_ms ??= Date.now() - event.created_at),
      abortUpstream: (why) => served.stop(why),
      onClientSlow: () => (served.clientSlow = true),
      usageEvent: (usageChunk, textBytes) => {
        const cost = onUsage({ usageChunk, textBytes });
        return chunkBytes(served, { ...(usageChunk ?? { choices: [] }), usage: usageWithCost(usageChunk?.usage, event, cost) });
      },
      errorEvent: onError,
    });

  const work = (async () => {
    const primary = ctx.served;
    let soFar = "";
    const decoder = new TextDecoder();
    let held: { message: string; code: number } | null = null;
    let billed = false;
    const first: PassthroughResult = await pump(
      primary,
      tappedWriter(writer, (b) => (soFar += contentOf(decoder.decode(b, { stream: true })))),
      (r) => ((billed = true), billParts([{ served: primary, tokens: tokensOf(r, promptEstimate) }], r.usageChunk === null)),
      (message, code) => ((held = { message, code }), NOTHING),
    );
    primary.release();
    const cutTokens = tokensOf({ usageChunk: null, textBytes: first.textBytes }, promptEstimate);
    const primaryAttempt = event.attempts.at(-1)!;
    if (first.end === "done" || first.end === "client_gone" || held === null) {
      if (!billed) billParts([{ served: primary, tokens: tokensOf(first, promptEstimate) }], first.usageChunk === null);
      event.cancelled = first.end === "client_gone";
      if (first.end !== "done") primaryAttempt.error = first.error ?? "client disconnected";
      if (first.end !== "client_gone") await writer.close().catch(() => {});
      return ctx.finish(STATUS[first.end]);
    }
    const cut = held as { message: string; code: number };
    primaryAttempt.error = first.error;
    const resumed = await cont.resume(soFar, primary);
    if (!resumed) {
      await writer.write(errorBytes(primary, cut.message, cut.code)).catch(() => {});
      await writer.close().catch(() => {});
      billParts([{ served: primary, tokens: cutTokens }], true);
      return ctx.finish("cut");
    }
    primaryAttempt.ok = false;
    primaryAttempt.error = `${first.error}; continued on ${resumed.planned.model.id}`;
    event.model = resumed.planned.model.id;
    event.provider = resumed.planned.provider.id;
    const contPrompt = promptEstimate + estimateTokens(soFar);
    let billedSecond = false;
    const bill2 = (r: { usageChunk: Record<string, unknown> | null; textBytes: number }) => {
      billedSecond = true;
      return billParts([{ served: primary, tokens: cutTokens }, { served: resumed, tokens: tokensOf(r, contPrompt) }], true);
    };
    const second = await pump(resumed, writer, bill2, (m, c) => errorBytes(resumed, m, c));
    resumed.release();
    if (!billedSecond) bill2(second);
    event.cancelled = second.end === "client_gone";
    if (second.end !== "done") event.attempts.at(-1)!.error = second.error ?? "client disconnected";
    return ctx.finish(STATUS[second.end]);
  })();
  ctx.waitUntil(work);
  return Promise.resolve(new Response(readable, { status: 200, headers: servedHeaders(ctx, "text/event-stream") }));
}
