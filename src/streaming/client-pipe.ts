import { clearTimer, setTimer, timerNow as now, type Timer } from "../core/clock";
import type { ChunkSource } from "./first-token";

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
 * What a passthrough pump (OpenAI and Anthropic formats) needs around its parsing: the idle watch on the
 * provider and the writes to the client.
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
