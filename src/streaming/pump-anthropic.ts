import type { ChunkSource } from "./first-token";
import type { AnthropicUsage } from "../formats/usage-formats";
import type { StreamEnd } from "./pump-openai";
import { ClientPipe } from "./client-pipe";
import { concatBytes, containsBytes, dataJson, eventEnd, textBytes } from "./sse-bytes";

export interface AnthropicPassthroughResult {
  end: StreamEnd;
  /** message_start's usage with message_delta's counts laid over it. */
  usage: AnthropicUsage | null;
  /** Whether message_delta (the final counts) arrived. */
  usageFinal: boolean;
  /** Content events forwarded. */
  contentEvents: number;
  /** Bytes of text (text, thinking, tool input JSON) forwarded: the basis of an estimate when no final usage came. */
  textBytes: number;
  error?: string;
}

export interface AnthropicPassthroughOptions {
  reader: ChunkSource;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** The message_delta event to send instead of the provider's (usage with cost), given the final usage. */
  messageDelta(event: Record<string, unknown>, usage: AnthropicUsage): Uint8Array;
  errorEvent(message: string, status: number): Uint8Array;
  abortUpstream(reason: string): void;
  idleMs: number;
  onFirstChunk?: () => void;
  tap?: (bytes: Uint8Array) => void;
  onClientSlow?: () => void;
}

const enc = new TextEncoder();
const MESSAGE_START = enc.encode("message_start");
const MESSAGE_DELTA = enc.encode("message_delta");
const MESSAGE_STOP = enc.encode("message_stop");
const ERROR = enc.encode("event: error");
/** The event type is named in an event's first line; looking no further keeps content events unread. */
const HEAD = 32;

/**
 * Forwards an Anthropic Messages SSE stream byte for byte, reading only the three events that carry usage
 * and the end (message_start, message_delta, message_stop) and any error event. message_delta is re-sent
 * with `usage.cost` added; the Anthropic SDK reads the usage fields it knows and ignores the rest.
 */
export async function pumpAnthropicStream(o: AnthropicPassthroughOptions): Promise<AnthropicPassthroughResult> {
  const result: AnthropicPassthroughResult = { end: "cut", usage: null, usageFinal: false, contentEvents: 0, textBytes: 0 };
  let pending: Uint8Array | null = null;
  let first = true;
  const pipe = new ClientPipe(o, () => (result.end = "client_gone"));
  const write = (bytes: Uint8Array) => pipe.write(bytes);
  /** The in-band error's status, if the stream ends in one. */
  let errorStatus = 502;
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await o.reader.read();
      } catch (err) {
        if (result.end !== "client_gone") {
          result.end = pipe.idleFired ? "idle" : "cut";
          ({ message: result.error, status: errorStatus } = pipe.readFailure(err));
        }
        break;
      }
      if (chunk.done) break;
      if (first) {
        first = false;
        o.onFirstChunk?.();
      }
      pipe.chunkArrived();
      const buf: Uint8Array = pending ? concatBytes(pending, chunk.value) : chunk.value;
      let pos = 0;
      let forwardFrom = 0;
      let end: number;
      while ((end = eventEnd(buf, pos)) !== -1) {
        const head = Math.min(end, pos + HEAD);
        if (containsBytes(buf, MESSAGE_DELTA, pos, head)) {
          if (pos > forwardFrom && !(await write(buf.subarray(forwardFrom, pos)))) return result;
          const ev = dataJson(buf, pos, end) as Record<string, unknown> | undefined;
          const usage: AnthropicUsage = { ...result.usage };
          for (const [k, v] of Object.entries((ev?.usage as Record<string, unknown>) ?? {})) if (v !== null && v !== undefined) (usage as Record<string, unknown>)[k] = v;
          result.usage = usage;
          result.usageFinal = true;
          if (!(await write(ev ? o.messageDelta(ev, usage) : buf.subarray(pos, end)))) return result;
          forwardFrom = end;
        } else if (containsBytes(buf, MESSAGE_START, pos, head)) {
          try {
            const ev = dataJson(buf, pos, end) as { message?: { usage?: AnthropicUsage } } | undefined;
            result.usage = { ...ev?.message?.usage };
          } catch {
            // forwarded as it came; the usage will be estimated
          }
        } else if (containsBytes(buf, MESSAGE_STOP, pos, head)) {
          result.end = "done";
        } else if (containsBytes(buf, ERROR, pos, head)) {
          // Not forwarded as the provider sent it (it may quote a credential): the gateway's error event ends the stream.
          if (pos > forwardFrom && !(await write(buf.subarray(forwardFrom, pos)))) return result;
          forwardFrom = end;
          try {
            const ev = dataJson(buf, pos, end) as { error?: { type?: string; message?: string } } | undefined;
            result.error = `${ev?.error?.type ?? "error"}: ${ev?.error?.message ?? "the provider sent an error"}`;
            // Keeps the provider's overload an overload for the client (the Anthropic SDK retries on it).
            if (ev?.error?.type === "overloaded_error") errorStatus = 529;
          } catch {
            result.error = "the provider sent an error";
          }
        } else {
          result.contentEvents++;
          result.textBytes += textBytes(buf, pos, end);
        }
        pos = end;
      }
      if (pos > forwardFrom && !(await write(buf.subarray(forwardFrom, pos)))) return result;
      pending = pos < buf.length ? buf.slice(pos) : null;
      if (result.end === "done" || result.error) break;
    }
    if (result.end === "done" || result.end === "client_gone") return result;
    if (result.end === "cut" && result.error === undefined) result.error = "upstream stream ended before the answer finished";
    await write(o.errorEvent(result.error!, errorStatus));
    return result;
  } finally {
    await pipe.end();
  }
}
