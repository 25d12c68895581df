import type { TokenCounts } from "../ledger/cost";
import type { UsageStatus } from "../ledger/event";
import { AttemptError } from "../core/errors";
import { TIMEOUTS } from "../core/time-limits";
import { StreamState, type PivotChunk } from "./pivot";
import { readFailure } from "./client-pipe";
import { servedHeaders, type ResponderContext } from "./responder";
import { sseEvents, watchedChunks, type SseEvent } from "./sse-parse";

/** Bills a translated stream once, from what the state holds (reported usage, or an estimate). */
export interface StreamEnding {
  bill(): { tokens: TokenCounts; cost: bigint };
}

export interface TranslatedStreamOptions {
  decode(events: AsyncIterable<SseEvent>, state: StreamState): AsyncIterable<PivotChunk>;
  encode(chunks: AsyncIterable<PivotChunk>, state: StreamState, ending: StreamEnding): AsyncIterable<string>;
  /** The client-format event that ends a stream that did not finish. */
  errorEvent(message: string, status: number): string;
}

type End = "done" | "cut" | "idle" | "client_gone";
const STATUS: Record<End, UsageStatus> = { done: "ok", cut: "cut", idle: "cut", client_gone: "cancelled" };

/**
 * A stream whose format differs between provider and client: upstream bytes → SSE events → decoder (pivot
 * deltas) → encoder (client events) → client, one event at a time through async generators; nothing is
 * buffered beyond the event being translated. The usage event is finished when the stream ends, however it ends.
 */
export function translatedStreamResponse(ctx: ResponderContext, opts: TranslatedStreamOptions): Response {
  const served = ctx.served;
  const { event } = ctx;
  const { readable, writable } = new IdentityTransformStream();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  const state = new StreamState();
  state.log = ctx.completion;
  let billed: { tokens: TokenCounts; cost: bigint } | null = null;
  const ending: StreamEnding = {
    bill: () => {
      if (!billed) {
        const { tokens, estimated } = state.tokens(() => ctx.greq.estimatePromptTokens());
        billed = { tokens, cost: ctx.bill(tokens, estimated) };
      }
      return billed;
    },
  };
  let idle = false;
  const abort = (why: string) => served.stop(why);
  // The policy's (or request's) idle limit for this answer.
  const idleMs = ctx.served.timeouts?.idle ?? TIMEOUTS.idle;

  const work = (async () => {
    let end: End = "cut";
    let errorStatus = 502;
    let error: string | undefined;
    const chunks = watchedChunks(served.chunks, {
      idleMs,
      onFirstChunk: () => (event.ttfb_ms = Date.now() - event.created_at),
      onIdle: () => {
        idle = true;
        abort(`no data for ${idleMs} ms`);
      },
    });
    try {
      for await (const text of opts.encode(opts.decode(sseEvents(chunks), state), state, ending)) {
        try {
          await writer.write(encoder.encode(text));
        } catch {
          end = "client_gone";
          abort("client disconnected");
          break;
        }
      }
      if (end !== "client_gone") {
        if (state.finished && !state.error) end = "done";
        else error = state.error ?? "upstream stream ended before the answer finished";
      }
    } catch (err) {
      const reason = served.controller.signal.reason;
      if (reason instanceof AttemptError && reason.kind === "cancelled") end = "client_gone";
      else {
        end = idle ? "idle" : "cut";
        ({ message: error, status: errorStatus } = readFailure(err, idle, idleMs));
      }
    } finally {
      if (end === "cut" || end === "idle") {
        await writer.write(encoder.encode(opts.errorEvent(ctx.served.scrub(error!), errorStatus))).catch(() => {});
      }
      if (end !== "client_gone") await writer.close().catch(() => {});
      else await writer.abort().catch(() => {});
    }
    ctx.served.release();
    ending.bill();
    event.cancelled = end === "client_gone";
    if (end !== "done") event.attempts.at(-1)!.error = error ?? "client disconnected";
    await ctx.finish(STATUS[end]);
  })();
  ctx.waitUntil(work);
  return new Response(readable, { status: 200, headers: servedHeaders(ctx, "text/event-stream") });
}
