import type { AnthropicUsage } from "../formats/usage-formats";
import type { StreamEnd } from "./pump-openai";
import { FORWARD, pumpEvents, type ClientPipeOptions } from "./client-pipe";
import { containsBytes, dataJson, textBytes } from "./sse-bytes";

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

export interface AnthropicPassthroughOptions extends ClientPipeOptions {
  /** The message_delta event to send instead of the provider's (usage with cost), given the final usage. */
  messageDelta(event: Record<string, unknown>, usage: AnthropicUsage): Uint8Array;
  errorEvent(message: string, status: number): Uint8Array;
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
  /** The in-band error's status, if the stream ends in one. */
  let errorStatus = 502;
  await pumpEvents(o, {
    event(buf, pos, end) {
      const head = Math.min(end, pos + HEAD);
      if (containsBytes(buf, MESSAGE_DELTA, pos, head)) {
        const ev = dataJson(buf, pos, end) as Record<string, unknown> | undefined;
        const usage: AnthropicUsage = { ...result.usage };
        for (const [k, v] of Object.entries((ev?.usage as Record<string, unknown>) ?? {})) if (v !== null && v !== undefined) (usage as Record<string, unknown>)[k] = v;
        result.usage = usage;
        result.usageFinal = true;
        return ev ? { send: o.messageDelta(ev, usage) } : FORWARD;
      }
      if (containsBytes(buf, MESSAGE_START, pos, head)) {
        try {
          const ev = dataJson(buf, pos, end) as { message?: { usage?: AnthropicUsage } } | undefined;
          result.usage = { ...ev?.message?.usage };
        } catch {
          // forwarded as it came; the usage will be estimated
        }
      } else if (containsBytes(buf, MESSAGE_STOP, pos, head)) {
        // The rest of the chunk is still sent; the stream stops after it.
        if (result.end !== "client_gone") result.end = "done";
        return { stop: "after-chunk" };
      } else if (containsBytes(buf, ERROR, pos, head)) {
        // Not forwarded as the provider sent it (it may quote a credential): the gateway's error event ends the stream.
        try {
          const ev = dataJson(buf, pos, end) as { error?: { type?: string; message?: string } } | undefined;
          result.error = `${ev?.error?.type ?? "error"}: ${ev?.error?.message ?? "the provider sent an error"}`;
          // Keeps the provider's overload an overload for the client (the Anthropic SDK retries on it).
          if (ev?.error?.type === "overloaded_error") errorStatus = 529;
        } catch {
          result.error = "the provider sent an error";
        }
        return { send: null, stop: "after-chunk" };
      } else {
        result.contentEvents++;
        result.textBytes += textBytes(buf, pos, end);
      }
      return FORWARD;
    },
    end({ failure }) {
      if (result.end === "done") return null;
      if (failure) {
        result.end = failure.idle ? "idle" : "cut";
        ({ message: result.error, status: errorStatus } = failure);
      }
      result.error ??= "upstream stream ended before the answer finished";
      return o.errorEvent(result.error, errorStatus);
    },
    gone() {
      result.end = "client_gone";
    },
  });
  return result;
}
