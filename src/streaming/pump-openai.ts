import type { ChunkSource } from "./first-token";
import { ClientPipe } from "./client-pipe";
import { concatBytes, dataJson, eventEnd, hasFinishReason, isDoneEvent, isErrorEvent, isWellFormedEvent, textBytes, usageMember } from "./sse-bytes";

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
  /** Data events forwarded. */
  dataEvents: number;
  /** Bytes of text (content, reasoning, tool arguments) forwarded: the basis of an estimate when no usage came. */
  textBytes: number;
  /** Malformed events dropped. */
  dropped: number;
  error?: string;
}

export interface PassthroughOptions {
  reader: ChunkSource;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Bytes of the final usage chunk to send the client, given the upstream's (or null: none came) and the text bytes streamed. */
  usageEvent(usageChunk: Record<string, unknown> | null, textBytes: number): Uint8Array;
  /** Bytes of the in-band error event that ends a stream that did not finish. */
  errorEvent(message: string, code: number): Uint8Array;
  /** Abort the upstream call (client gone or idle). */
  abortUpstream(reason: string): void;
  idleMs: number;
  onFirstChunk?: () => void;
  tap?: (bytes: Uint8Array) => void;
  onClientSlow?: () => void;
}

const DONE_BYTES = new TextEncoder().encode("data: [DONE]\n\n");

/**
 * Forwards an OpenAI-format SSE stream to the client byte for byte, event by event as they complete, while
 * noting the few events that matter: the usage chunk (replaced by one that carries `cost`), finish reasons
 * and [DONE]. JavaScript touches each chunk only to find event boundaries; nothing is re-encoded. The edits:
 * a chunk's `"usage":null` is blanked out in place (see usageMember); a provider's in-band error event ends
 * the stream and is replaced by the gateway's (`errorEvent`, which never quotes a credential).
 */
export async function pumpOpenAIStream(o: PassthroughOptions): Promise<PassthroughResult> {
  const result: PassthroughResult = { end: "cut", usageChunk: null, dataEvents: 0, textBytes: 0, dropped: 0 };
  let pending: Uint8Array | null = null;
  let finished = false;
  let sawFirstChunk = false;
  const pipe = new ClientPipe(o, () => {
    result.end = "client_gone";
    result.error = "client disconnected";
  });
  const write = (bytes: Uint8Array) => pipe.write(bytes);
  /** The in-band error's status, if the stream ends in one. */
  let errorStatus = 502;
  const finishWithUsage = async (): Promise<boolean> => {
    finished = true;
    return (await write(o.usageEvent(result.usageChunk, result.textBytes))) && (await write(DONE_BYTES));
  };

  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await o.reader.read();
      } catch (err) {
        if (result.end !== "client_gone") {
          ({ message: result.error, status: errorStatus } = pipe.readFailure(err));
          result.end = pipe.idleFired ? "idle" : "cut";
        }
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
      pipe.chunkArrived();
      const buf: Uint8Array = pending ? concatBytes(pending, chunk.value) : chunk.value;
      let pos = 0;
      let forwardFrom = 0;
      let end: number;
      while ((end = eventEnd(buf, pos)) !== -1) {
        const special = isErrorEvent(buf, pos, end)
          ? "error"
          : isDoneEvent(buf, pos, end)
          ? "done"
          : !isWellFormedEvent(buf, pos, end)
            ? "garbage"
            : usageMember(buf, pos, end) === "object" // (a "usage":null is blanked by the same scan)
              ? "usage"
              : null;
        if (special === null) {
          result.dataEvents++;
          result.textBytes += textBytes(buf, pos, end);
          if (hasFinishReason(buf, pos, end)) finished = true;
          pos = end;
          continue;
        }
        if (pos > forwardFrom && !(await write(buf.subarray(forwardFrom, pos)))) return result;
        if (special === "error") {
          ({ message: result.error, status: errorStatus } = inBandError(buf, pos, end));
          break;
        }
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
      if (result.end === "done" || result.error !== undefined) break;
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
    await write(o.errorEvent(message, errorStatus));
    return result;
  } finally {
    // The last bytes reached the client, or it went away before they did (then the answer was cancelled).
    await pipe.end();
  }
}

/** What a provider's in-band error event says: its message (the gateway's error event scrubs it) and code. */
function inBandError(buf: Uint8Array, start: number, end: number): { message: string; status: number } {
  try {
    const { error } = dataJson(buf, start, end) as { error?: { message?: unknown; code?: unknown } };
    const status = typeof error?.code === "number" && error.code >= 400 && error.code < 600 ? error.code : 502;
    return { message: `the provider sent an error: ${typeof error?.message === "string" ? error.message : "unknown error"}`, status };
  } catch {
    return { message: "the provider sent an error", status: 502 };
  }
}
