import { clearTimer, setTimer, timerNow as now, type Timer } from "../core/clock";
import type { ChunkSource } from "./first-token";
import { concatBytes, eventEnd } from "./sse-bytes";

export interface ClientPipeOptions {
  reader: ChunkSource;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Aborts the upstream call (the client is gone, or the provider went silent). */
  abortUpstream(reason: string): void;
  idleMs: number;
  /** Sees every byte the client is sent (the completion log of a team that keeps one). */
  tap?: (bytes: Uint8Array) => void;
  /** The client reads slower than the provider sends: the stream's pace is the client's, not the provider's. */
  onClientSlow?: () => void;
  /** The provider's first chunk arrived. */
  onFirstChunk?: () => void;
}

/**
 * Why reading a provider's stream failed, and the status of the in-band error that ends it: 504 for a time
 * limit (idle, first token, total), the status of a gateway error (every candidate failed before its first
 * token), else 502.
 */
export function readFailure(err: unknown, idle: boolean, idleMs: number): { message: string; status: number } {
  if (idle) return { message: `upstream stream idle for ${idleMs} ms`, status: 504 };
  const message = `upstream stream failed: ${err instanceof Error ? err.message : String(err)}`;
  const e = err as { status?: unknown; kind?: unknown } | null;
  if (e?.kind === "timeout") return { message, status: 504 };
  if (typeof e?.status === "number" && e.status >= 400 && e.status < 600) return { message, status: e.status };
  return { message, status: 502 };
}

/** Bytes that may be on their way to the client before the pump waits for it to take them. */
const WRITE_AHEAD = 64 * 1024;

/**
 * What the passthrough loop (pumpEvents) needs around its parsing: the idle watch on the provider and the
 * writes to the client.
 *
 * Idle: a provider silent for `idleMs` once its first token came is aborted (before it, the first-token
 * limit watches it: routing/first-token.ts). Writes are not awaited one by one: the pump goes back to the
 * provider while the client takes the bytes, and waits only when more than WRITE_AHEAD are on their way,
 * so memory stays flat however long the stream and however slow the client. A write that fails means the
 * client is gone: the upstream call is aborted and `onGone` is told, once.
 */
export class ClientPipe {
  idleFired = false;
  gone = false;
  private lastChunkAt = now();
  private timer: Timer | null = null;
  private ahead = 0;
  private lastWrite: Promise<void> = Promise.resolve();
  private ended = false;

  constructor(
    private readonly o: ClientPipeOptions,
    private readonly onGone: () => void,
  ) {}

  /** A chunk came from the provider: the idle clock starts again. */
  chunkArrived(): void {
    this.lastChunkAt = now();
  }

  /** Queues bytes for the client; false once the client is gone. */
  async write(bytes: Uint8Array): Promise<boolean> {
    if (this.gone) return false;
    this.o.tap?.(bytes);
    const n = bytes.length;
    this.ahead += n;
    const p = this.o.writer.write(bytes).then(
      () => {
        this.ahead -= n;
        // The idle watch starts once the first bytes are on their way: a timer set before them would sit
        // between the provider's first chunk and the client (measured: a quarter of a millisecond).
        if (this.timer === null && !this.ended) this.arm(this.o.idleMs);
      },
      () => this.clientGone(),
    );
    this.lastWrite = p;
    if (this.ahead > WRITE_AHEAD) {
      this.o.onClientSlow?.();
      await p;
    }
    return !this.gone;
  }

  /** Why reading the provider failed (the idle limit, or the error the read threw), with its status. */
  readFailure(err: unknown): { message: string; status: number } {
    return readFailure(err, this.idleFired, this.o.idleMs);
  }

  /**
   * Stops the idle watch and waits until the bytes written reached the client (or it went away before they
   * did: then `onGone` has run); closes the client's stream unless it is gone.
   */
  async end(): Promise<void> {
    this.ended = true;
    if (this.timer !== null) clearTimer(this.timer);
    await this.lastWrite;
    if (!this.gone) await this.o.writer.close().catch(() => {});
  }

  private clientGone(): void {
    if (this.gone) return;
    this.gone = true;
    // Told first: whatever the upstream read sees next (our own abort), the reason is the client.
    this.onGone();
    this.o.abortUpstream("client disconnected");
  }

  private arm(ms: number): void {
    this.timer = setTimer(() => {
      const quiet = now() - this.lastChunkAt;
      if (quiet >= this.o.idleMs && this.o.reader.live !== false) {
        this.idleFired = true;
        this.o.abortUpstream(`no data for ${this.o.idleMs} ms`);
      } else this.arm(Math.max(1, this.o.idleMs - quiet));
    }, ms);
  }
}

/** An event sent on to the client as the provider wrote it. */
export const FORWARD = 0;

/**
 * What a format makes of one complete event: FORWARD, or what is sent instead (`send`: those bytes, null:
 * nothing, absent: the event as it came) and whether the stream stops there ("now": nothing more of the
 * provider's is sent; "after-chunk": the rest of the chunk that holds it still is, then the stream stops).
 */
export type Verdict = typeof FORWARD | { send?: Uint8Array | null; stop?: "now" | "after-chunk" };

/** Why reading the provider's stream failed, with the status of the in-band error that ends it. */
export interface ReadFailure {
  message: string;
  status: number;
  /** The idle watch aborted it. */
  idle: boolean;
}

/** What one stream format (OpenAI chat, Anthropic Messages, Responses) tells the pump. */
export interface EventFormat {
  /** One complete event, `buf[start, end)`. It may edit the bytes in place (keeping their length). */
  event(buf: Uint8Array, start: number, end: number): Verdict;
  /**
   * The last bytes to send (null: none), once the stream stopped at an event's verdict (`stopped`) or the
   * provider's stream ended (`rest`: an event without its blank line) or failed (`failure`). Not asked
   * when the client is gone.
   */
  end(how: { stopped: boolean; rest: Uint8Array | null; failure: ReadFailure | null }): Uint8Array | null;
  /** The client disconnected. */
  gone(): void;
}

/**
 * The passthrough loop every same-format stream shares: reads the provider's chunks, cuts them into
 * complete events, asks the format about each and sends the client every byte it does not replace, one
 * write per run of forwarded events. The format finds usage, errors and the end; the pipe watches the
 * provider's silence and the client.
 *
 * Its cost is the runtime's, not its own: the parsing is a few microseconds a chunk, each read and write
 * several times that. A fetch body's reader gets one upstream HTTP chunk per read whatever its mode,
 * buffer or pace (default or BYOB with 64 KiB, directly or behind an IdentityTransformStream, read at once
 * or late), so reads cannot be batched; and the provider's bytes cannot be piped natively, since an
 * OpenAI chunk's `"usage":null` is blanked and the usage chunk rewritten.
 */
export async function pumpEvents(o: ClientPipeOptions, format: EventFormat): Promise<void> {
  const pipe = new ClientPipe(o, () => format.gone());
  let pending: Uint8Array | null = null;
  let first = true;
  let stopped = false;
  let failure: ReadFailure | null = null;
  try {
    read: for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await o.reader.read();
      } catch (err) {
        if (!pipe.gone) failure = { ...pipe.readFailure(err), idle: pipe.idleFired };
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
        const verdict = format.event(buf, pos, end);
        if (verdict !== FORWARD) {
          if (verdict.send !== undefined) {
            if (pos > forwardFrom && !(await pipe.write(buf.subarray(forwardFrom, pos)))) return;
            if (verdict.send !== null && !(await pipe.write(verdict.send))) return;
            forwardFrom = end;
          }
          if (verdict.stop === "now") {
            if (end > forwardFrom && !(await pipe.write(buf.subarray(forwardFrom, end)))) return;
            stopped = true;
            pending = null;
            break read;
          }
          if (verdict.stop) stopped = true;
        }
        pos = end;
      }
      if (pos > forwardFrom && !(await pipe.write(buf.subarray(forwardFrom, pos)))) return;
      pending = pos < buf.length ? buf.slice(pos) : null;
      if (stopped) break;
    }
    if (pipe.gone) return;
    const last = format.end({ stopped, rest: pending, failure });
    if (last !== null) await pipe.write(last);
  } finally {
    // The last bytes reached the client, or it went away before they did (then the answer was cancelled).
    await pipe.end();
  }
}
