import { costOf, type TokenCounts } from "../ledger/cost";
import type { UsageStatus } from "../ledger/event";
import { AttemptError } from "../core/errors";
import type { Served } from "../routing/attempts";
import type { AnswerSoFar, Continuation } from "../routing/continue";
import type { PlannedAttempt } from "../routing/plan";
import { readFailure } from "./client-pipe";
import { encodeOpenAIStream, openAIStreamError, type OpenAIStreamMeta } from "./encode-openai";
import { StreamState, type PivotChunk, type PivotDelta } from "./pivot";
import { DECODE } from "./respond-translated";
import { servedHeaders, type ResponderContext } from "./responder";
import { sseEvents, watchedChunks } from "./sse-parse";
import { anthropicStreamError, encodeAnthropicStream } from "./encode-anthropic";
import type { StreamEnding } from "./translated-stream";

/**
 * A streamed answer that may be continued elsewhere if it dies mid-answer (routing.continue_on_cut), for
 * every pair of client and provider formats. Every segment of the answer is decoded into the pivot and the
 * client's format is encoded once, from one encoder, so the client sees one answer: one role chunk or
 * message_start, one text block, one final usage (the sum of the segments) naming who finished it.
 *
 * The seam: the continuation's role-only events are dropped; its first text loses leading whitespace the
 * client already has (an Anthropic prefill is sent without its trailing whitespace, which the API refuses,
 * and the model starts its continuation with it again). At most one continuation per answer: the request's
 * budget hold is sized for one (ledger/request-hold.ts), and a candidate whose worst case no longer fits the
 * hold is not asked.
 */
type End = "done" | "cut" | "idle" | "client_gone";
const STATUS: Record<End, UsageStatus> = { done: "ok", cut: "cut", idle: "cut", client_gone: "cancelled" };

interface Segment {
  served: Served;
  state: StreamState;
  /** The prompt estimate of the body it was sent, for when the provider reports none. */
  promptEstimate(): number;
  /** Its entry in the record's attempts. */
  attempt: number;
}

interface SegmentEnd {
  end: End;
  error?: string;
  status: number;
}

const isEmpty = (d: PivotDelta) =>
  !d.content && !d.reasoning && !(d.tool_calls?.length) && !(d.reasoning_details?.length) && d.role === undefined;

/** Leading whitespace of `text` that repeats the end of what the client already has (`tail`). */
export function seamTrim(text: string, tail: string): string {
  const ws = /\s*$/.exec(tail)![0];
  if (ws === "") return text;
  const lead = /^\s*/.exec(text)![0];
  if (lead === "") return text;
  if (ws.endsWith(lead)) return text.slice(lead.length);
  if (lead.startsWith(ws)) return text.slice(ws.length);
  return text;
}

export function continuableStreamResponse(ctx: ResponderContext, cont: Continuation): Response {
  const { event, greq } = ctx;
  const { readable, writable } = new IdentityTransformStream();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  /** What the client's encoder is told of the answer: the last segment's ending. */
  const out = new StreamState();
  const soFar: AnswerSoFar = { text: "", reasoning: "", toolCall: false };
  const segments: Segment[] = [];
  let current: Served = ctx.served;

  const tokensOf = (s: Segment) => s.state.tokens(s.promptEstimate);
  let billed: { tokens: TokenCounts; cost: bigint } | null = null;
  const bill = () => {
    if (billed) return billed;
    if (segments.length === 1) {
      const { tokens, estimated } = tokensOf(segments[0]!);
      return (billed = { tokens, cost: ctx.bill(tokens, estimated) });
    }
    const parts = segments.map((s) => ({ planned: s.served.planned, attempt: s.attempt, ...tokensOf(s) }));
    const cost = ctx.billSegments!(parts);
    return (billed = { tokens: event, cost });
  };
  const ending: StreamEnding = { bill };

  const meta: OpenAIStreamMeta = {
    id: ctx.requestId,
    created: Math.floor(event.created_at / 1000),
    model: ctx.served.planned.model.id,
    provider: ctx.served.planned.provider.name,
  };
  const thinking = ["enabled", "adaptive"].includes(String((greq.body.thinking as { type?: string } | undefined)?.type));

  /** One segment's pivot chunks, after the seam; returns how it ended. */
  async function* run(seg: Segment, continued: boolean): AsyncGenerator<PivotChunk, SegmentEnd> {
    const { served, state } = seg;
    const idleMs = served.timeouts.idle;
    let idle = false;
    let atSeam = continued;
    const chunks = watchedChunks(served.chunks, {
      idleMs,
      onFirstChunk: () => (event.ttfb_ms ??= Date.now() - event.created_at),
      onIdle: () => {
        idle = true;
        served.stop(`no data for ${idleMs} ms`);
      },
    });
    try {
      for await (const chunk of DECODE[served.planned.provider.format](sseEvents(chunks), state)) {
        const delta = { ...chunk.delta };
        if (continued) {
          delete delta.role;
          if (delta.content === "") delete delta.content;
        }
        if (atSeam && delta.content) {
          delta.content = seamTrim(delta.content, soFar.text);
          if (delta.content === "") delete delta.content;
          else atSeam = false;
        }
        if (isEmpty(delta) && !chunk.finish_reason && continued) continue;
        soFar.text += delta.content ?? "";
        if (soFar.text === "") soFar.reasoning += delta.reasoning ?? "";
        if (delta.tool_calls?.length) soFar.toolCall = true;
        ctx.completion?.add(delta);
        yield { delta, finish_reason: chunk.finish_reason ?? null };
      }
      if (state.finished && !state.error) return { end: "done", status: 200 };
      // The answer had finished (its finish reason came); only the usage or the end marker was lost: nothing to continue.
      if (state.finishReason !== null && !state.error) return { end: "done", status: 200 };
      return { end: "cut", error: state.error ?? "upstream stream ended before the answer finished", status: 502 };
    } catch (err) {
      const reason = served.controller.signal.reason;
      if (reason instanceof AttemptError && reason.kind === "cancelled") return { end: "client_gone", status: 0 };
      if (state.finishReason !== null && !idle) return { end: "done", status: 200 };
      const f = readFailure(err, idle, idleMs);
      return { end: idle ? "idle" : "cut", error: f.message, status: f.status };
    } finally {
      served.release();
    }
  }

  const startSegment = (served: Served, promptEstimate: () => number): Segment => {
    const seg: Segment = { served, state: new StreamState(), promptEstimate, attempt: event.attempts.length - 1 };
    segments.push(seg);
    current = served;
    return seg;
  };

  let final: SegmentEnd = { end: "cut", status: 502 };
  async function* answer(): AsyncGenerator<PivotChunk> {
    const first = startSegment(ctx.served, () => greq.estimatePromptTokens());
    final = yield* run(first, false);
    if (final.end !== "cut" && final.end !== "idle") return finishWith(first.state);
    const spent = costOf(tokensOf(first).tokens, first.served.planned.model.pricing);
    const resumed = await cont.resume(soFar, first.served, (planned: PlannedAttempt, body, bytes) => ctx.continuationFits!(spent, planned, body, bytes));
    if (!resumed) return finishWith(first.state);
    const primaryAttempt = event.attempts[first.attempt]!;
    primaryAttempt.ok = false;
    primaryAttempt.error = `${final.error}; continued on ${resumed.served.planned.model.id}`;
    const { planned } = resumed.served;
    event.model = planned.model.id;
    event.provider = planned.provider.id;
    meta.model = planned.model.id;
    meta.provider = planned.provider.name;
    const second = startSegment(resumed.served, () => resumed.promptTokens);
    final = yield* run(second, true);
    if (final.end !== "done" && final.end !== "client_gone") event.attempts[second.attempt]!.error = final.error;
    return finishWith(second.state);
  }
  /** Tells the encoder how the answer ended (a finished answer gets its usage and final events). */
  const finishWith = (state: StreamState) => {
    out.finished = final.end === "done";
    out.error = final.end === "done" ? null : (final.error ?? "client disconnected");
    out.finishReason = state.finishReason;
  };

  const clientEvents =
    greq.ingress === "openai"
      ? encodeOpenAIStream(answer(), out, ending, meta)
      : encodeAnthropicStream(answer(), out, ending, { id: `msg_${ctx.requestId.replace(/^gen-/, "")}`, model: meta.model, thinking });
  const errorEvent = (message: string, status: number) =>
    greq.ingress === "openai" ? openAIStreamError(meta, message, status) : anthropicStreamError(message, status);

  const work = (async () => {
    let gone = false;
    try {
      for await (const text of clientEvents) {
        try {
          await writer.write(encoder.encode(text));
        } catch {
          gone = true;
          current.stop("client disconnected");
          break;
        }
      }
    } catch (err) {
      final = { end: "cut", error: `stream failed: ${err instanceof Error ? err.message : String(err)}`, status: 502 };
    }
    const end: End = gone ? "client_gone" : final.end;
    if (end === "cut" || end === "idle") {
      // The original failure, never a continuation's refusal.
      const failed = segments.length > 1 ? current : segments[0]!.served;
      await writer.write(encoder.encode(errorEvent(failed.scrub(final.error ?? "upstream stream failed"), final.status))).catch(() => {});
    }
    if (end !== "client_gone") await writer.close().catch(() => {});
    else await writer.abort().catch(() => {});
    bill();
    event.cancelled = end === "client_gone";
    const last = event.attempts[segments.at(-1)!.attempt]!;
    if (end === "client_gone") last.error = "client disconnected";
    else if (end !== "done" && segments.length === 1) last.error = final.error;
    await ctx.finish(STATUS[end]);
  })();
  ctx.waitUntil(work);
  return new Response(readable, { status: 200, headers: servedHeaders(ctx, "text/event-stream") });
}
