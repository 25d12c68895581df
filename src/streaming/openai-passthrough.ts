import type { ChunkSource } from "../routing/first-token";
import { blankNullUsage, concatBytes, dataJson, eventEnd, hasFinishReason, hasUsageObject, isDoneEvent, isWellFormedEvent } from "./sse-bytes";

/** How a streamed answer ended. */
export type StreamEnd =
  | "done" // [DONE] or a clean end after a finish_reason
  | "cut" // upstream ended or failed before the answer finished
  | "idle" // upstream went silent past the idle timeout
  | "client_gone"; // the client disconnected

export interface PassthroughResult {
  end: StreamEnd;
  /** The upstream's final usage chunk, parsed, if it sent one. */
  usageChunk: Record<string, unknown> | null;
  /** Data events forwarded: one per delta, a proxy for tokens when no usage came. */
  dataEvents: number;
  /** Malformed events dropped. */
  dropped: number;
  error?: string;
}

export interface PassthroughOptions {
  reader: ChunkSource;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Bytes of the final usage chunk to send the client, given the upstream's (or null: none came). */
  usageEvent(usageChunk: Record<string, unknown> | null, estimatedCompletion: number): Uint8Array;
  /** Bytes of the in-band error event that ends a stream that did not finish. */
  errorEvent(message: string, code: number): Uint8Array;
  /** Abort the upstream call (client gone or idle). */
  abortUpstream(reason: string): void;
  idleMs: number;
  onFirstChunk?: () => void;
}

const DONE_BYTES = new TextEncoder().encode("data: [DONE]\n\n");
/** Bytes the pump may have written ahead of the client before it waits for the client to take them. */
const WRITE_AHEAD = 64 * 1024;

/**
 * Forwards an OpenAI-format SSE stream to the client byte for byte, event by event as they complete, while
 * noting the few events that matter: the usage chunk (replaced by one that carries `cost`), finish reasons
 * and [DONE]. JavaScript touches each chunk only to find event boundaries; nothing is re-encoded. The one
 * edit: a chunk's `"usage":null` is blanked out in place (see blankNullUsage).
 */
export async function pumpOpenAIStream(o: PassthroughOptions): Promise<PassthroughResult> {
  const result: PassthroughResult = { end: "cut", usageChunk: null, dataEvents: 0, dropped: 0 };
  let pending: Uint8Array | null = null;
  let finished = false;
  let sawFirstChunk = false;
  let lastChunkAt = Date.now();
  let idleFired = false;
  let idleTimer: ReturnType<typeof setTimeout> | null = null;
  const armIdle = (ms: number) => {
    idleTimer = setTimeout(() => {
      const quiet = Date.now() - lastChunkAt;
      // Before the first token, the first-token limit watches the provider (routing/first-token.ts).
      if (quiet >= o.idleMs && o.reader.live !== false) {
        idleFired = true;
        o.abortUpstream(`no data for ${o.idleMs} ms`);
      } else armIdle(Math.max(1, o.idleMs - quiet));
    }, ms);
  };
  armIdle(o.idleMs);

  // Writes are not awaited one by one: the pump goes back to the provider while the client takes the bytes.
  // Only when more than WRITE_AHEAD bytes are on their way does it wait (backpressure: memory stays flat
  // however long the stream, however slow the client). A write that fails means the client is gone.
  let gone = false;
  let ahead = 0;
  let lastWrite: Promise<void> = Promise.resolve();
  const clientGone = () => {
    if (gone) return;
    gone = true;
    result.end = "client_gone";
    // Whatever the upstream read saw meanwhile (our own abort), the reason the stream ended is the client.
    result.error = "client disconnected";
    o.abortUpstream("client disconnected");
  };
  const write = async (bytes: Uint8Array): Promise<boolean> => {
    if (gone) return false;
    const n = bytes.length;
    ahead += n;
    const p = o.writer.write(bytes).then(() => void (ahead -= n), clientGone);
    lastWrite = p;
    if (ahead > WRITE_AHEAD) await p;
    return !gone;
  };
  const finishWithUsage = async (): Promise<boolean> => {
    finished = true;
    return (await write(o.usageEvent(result.usageChunk, result.dataEvents))) && (await write(DONE_BYTES));
  };

  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await o.reader.read();
      } catch (err) {
        result.error = idleFired ? `upstream stream idle for ${o.idleMs} ms` : `upstream stream failed: ${err instanceof Error ? err.message : String(err)}`;
        if (result.end !== "client_gone") result.end = idleFired ? "idle" : "cut";
        break;
      }
      if (chunk.done) {
        // A last event without its blank line: honour a final [DONE], drop anything else incomplete.
        if (pending && isDoneEvent(pending, 0, pending.length)) {
          if (await finishWithUsage()) result.end = "done";
          return result;
        }
        break;
      }
      if (!sawFirstChunk) {
        sawFirstChunk = true;
        o.onFirstChunk?.();
      }
      lastChunkAt = Date.now();
      const buf: Uint8Array = pending ? concatBytes(pending, chunk.value) : chunk.value;
      let pos = 0;
      let forwardFrom = 0;
      let end: number;
      while ((end = eventEnd(buf, pos)) !== -1) {
        const special = isDoneEvent(buf, pos, end)
          ? "done"
          : !isWellFormedEvent(buf, pos, end)
            ? "garbage"
            : hasUsageObject(buf, pos, end)
              ? "usage"
              : null;
        if (special === null) {
          result.dataEvents++;
          blankNullUsage(buf, pos, end);
          if (hasFinishReason(buf, pos, end)) finished = true;
          pos = end;
          continue;
        }
        if (pos > forwardFrom && !(await write(buf.subarray(forwardFrom, pos)))) return result;
        if (special === "garbage") result.dropped++;
        else if (special === "usage") {
          // Some providers put the last finish_reason on the usage chunk itself.
          if (hasFinishReason(buf, pos, end)) finished = true;
          try {
            result.usageChunk = dataJson(buf, pos, end) as Record<string, unknown>;
          } catch {
            result.dropped++;
          }
        } else {
          if (!(await finishWithUsage())) return result;
          result.end = "done";
        }
        pos = forwardFrom = end;
      }
      if (result.end === "done") break;
      if (pos > forwardFrom && !(await write(buf.subarray(forwardFrom, pos)))) return result;
      pending = pos < buf.length ? buf.slice(pos) : null;
    }
    if (result.end === "client_gone" || result.end === "done") return result;
    if (finished && result.error === undefined) {
      // Ended cleanly after its finish_reason but without [DONE]: finalise at once, with usage.
      if (await finishWithUsage()) result.end = "done";
      return result;
    }
    const message = result.error ?? "upstream stream ended before the answer finished";
    result.error = message;
    await write(o.errorEvent(message, result.end === "idle" ? 504 : 502));
    return result;
  } finally {
    clearTimeout(idleTimer);
    // The last bytes reached the client, or it went away before they did (then the answer was cancelled).
    await lastWrite;
    if (result.end !== "client_gone") await o.writer.close().catch(() => {});
  }
}
