import { createParser } from "eventsource-parser";
import { clearTimer, setTimer, timerNow as now, type Timer } from "../core/clock";
import type { ChunkSource } from "./first-token";

/**
 * SSE parsing for the streams the gateway must translate (and so must read): bytes → events. Same-format
 * streams never come here; they pass through as bytes (sse-bytes.ts, pump-*.ts).
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

/**
 * Events as they complete; an incomplete last event (no blank line) is still delivered when the stream ends.
 * The parsing is eventsource-parser's (the WHATWG rules: CR, LF or CRLF line ends, comments, a BOM).
 */
export async function* sseEvents(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  const ready: SseEvent[] = [];
  const parser = createParser({ onEvent: (m) => ready.push({ event: m.event ?? null, data: m.data }) });
  for await (const chunk of chunks) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    if (ready.length === 0) continue;
    const batch = ready.splice(0);
    yield* batch;
  }
  // A blank line ends whatever event the stream was cut inside.
  parser.feed(`${decoder.decode()}\n\n`);
  yield* ready;
}

/** The events of a text that holds whole events only (as a passthrough forwards them). */
export function eventsIn(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  createParser({ onEvent: (m) => out.push({ event: m.event ?? null, data: m.data }) }).feed(`${text}\n\n`);
  return out;
}

/** The JSON payload of an event, or undefined when it is not JSON. */
export function eventJson<T = Record<string, unknown>>(ev: SseEvent): T | undefined {
  try {
    return JSON.parse(ev.data) as T;
  } catch {
    return undefined;
  }
}
