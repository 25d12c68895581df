import { FORWARD, pumpEvents, type ClientPipeOptions } from "./client-pipe";
import { concatBytes, dataJson, hasFinishReason, isDoneEvent, isErrorEvent, isWellFormedEvent, textBytes, usageMember } from "./sse-bytes";

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

export interface PassthroughOptions extends ClientPipeOptions {
  /** Bytes of the final usage chunk to send the client, given the upstream's (or null: none came) and the text bytes streamed. */
  usageEvent(usageChunk: Record<string, unknown> | null, textBytes: number): Uint8Array;
  /** Bytes of the in-band error event that ends a stream that did not finish. */
  errorEvent(message: string, code: number): Uint8Array;
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
  /** A finish_reason came: a stream that ends without [DONE] after it is finished all the same. */
  let finished = false;
  /** The in-band error's status, if the stream ends in one. */
  let errorStatus = 502;
  const finish = (): Uint8Array => {
    if (result.end !== "client_gone") result.end = "done";
    return concatBytes(o.usageEvent(result.usageChunk, result.textBytes), DONE_BYTES);
  };
  await pumpEvents(o, {
    event(buf, pos, end) {
      if (isErrorEvent(buf, pos, end)) {
        ({ message: result.error, status: errorStatus } = inBandError(buf, pos, end));
        return { send: null, stop: "now" };
      }
      if (isDoneEvent(buf, pos, end)) return { send: finish(), stop: "now" };
      if (!isWellFormedEvent(buf, pos, end)) {
        result.dropped++;
        return DROP;
      }
      // (a "usage":null is blanked by the same scan)
      if (usageMember(buf, pos, end) === "object") {
        // Some providers put the last finish_reason on the usage chunk itself.
        if (hasFinishReason(buf, pos, end)) finished = true;
        try {
          result.usageChunk = dataJson(buf, pos, end) as Record<string, unknown>;
        } catch {
          result.dropped++;
        }
        return DROP;
      }
      result.dataEvents++;
      result.textBytes += textBytes(buf, pos, end);
      if (hasFinishReason(buf, pos, end)) finished = true;
      return FORWARD;
    },
    end({ stopped, rest, failure }) {
      if (result.end === "done") return null;
      if (failure) {
        ({ message: result.error, status: errorStatus } = failure);
        result.end = failure.idle ? "idle" : "cut";
      }
      // A last event without its blank line: honour a final [DONE], drop anything else incomplete.
      else if (!stopped && rest && isDoneEvent(rest, 0, rest.length)) return finish();
      // Ended cleanly after its finish_reason but without [DONE]: finalised at once, with usage.
      if (finished && result.error === undefined) return finish();
      result.error ??= "upstream stream ended before the answer finished";
      return o.errorEvent(result.error, errorStatus);
    },
    gone() {
      result.end = "client_gone";
      result.error = "client disconnected";
    },
  });
  return result;
}

const DROP = { send: null } as const;

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
