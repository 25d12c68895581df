import { clearTimer, setTimer, timerNow as now, type Timer } from "../core/clock";
import type { ChunkSource } from "./first-token";

/**
 * SSE parsing for the streams the gateway must translate (and so must read): bytes → events. Same-format
 * streams never come here; they pass through as bytes (openai-passthrough.ts, anthropic-passthrough.ts).
 */
export interface SseEvent {
  event: string | null;
  data: string;
}

export interface ChunkWatch {
  idleMs: number;
  /** Called once, on the first bytes. */
  onFirstChunk?: () => void;
  /** Called when no bytes came for idleMs: it should abort the upstream call, which ends the read. */
  onIdle(): void;
}

/** The reader's chunks, watched for silence; the reader is released when the consumer stops. */
export async function* watchedChunks(reader: ChunkSource, watch: ChunkWatch): AsyncGenerator<Uint8Array> {
  let last = now();
  let first = true;
  let timer: Timer | null = null;
  const arm = (ms: number) => {
    timer = setTimer(() => {
      const quiet = now() - last;
      // Before the first token, the first-token limit watches the provider (routing/first-token.ts).
      if (quiet >= watch.idleMs && reader.live !== false) watch.onIdle();
      else arm(Math.max(1, watch.idleMs - quiet));
    }, ms);
  };
  arm(watch.idleMs);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      last = now();
      if (first) {
        first = false;
        watch.onFirstChunk?.();
      }
      yield value;
    }
  } finally {
    if (timer !== null) clearTimer(timer);
    reader.cancel().catch(() => {});
  }
}

/** Events as they complete; an incomplete last event (no blank line) is still delivered when the stream ends. */
export async function* sseEvents(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of chunks) {
    buf += decoder.decode(chunk, { stream: true });
    let sep: RegExpExecArray | null;
    const boundary = /\r?\n\r?\n/g;
    let start = 0;
    while ((sep = boundary.exec(buf)) !== null) {
      const ev = parseEvent(buf.slice(start, sep.index));
      start = sep.index + sep[0].length;
      if (ev) yield ev;
    }
    buf = buf.slice(start);
  }
  buf += decoder.decode();
  const ev = parseEvent(buf);
  if (ev) yield ev;
}

/** The events of a text that holds whole events only (as a passthrough forwards them). */
export function eventsIn(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const ev = parseEvent(block);
    if (ev) out.push(ev);
  }
  return out;
}

function parseEvent(text: string): SseEvent | null {
  let event: string | null = null;
  const data: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return data.length === 0 && event === null ? null : { event, data: data.join("\n") };
}

/** The JSON payload of an event, or undefined when it is not JSON. */
export function eventJson<T = Record<string, unknown>>(ev: SseEvent): T | undefined {
  try {
    return JSON.parse(ev.data) as T;
  } catch {
    return undefined;
  }
}
