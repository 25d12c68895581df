import type { WireFormat } from "../catalog/types";
import { AttemptError } from "../core/errors";
import { concatBytes, eventEnd } from "./sse-bytes";

/**
 * A streamed answer counts as served only once its first token arrives: until then a provider that sends
 * headers and then nothing (or an error event) can still be failed over, without the client seeing it.
 *
 * Two ways to wait, chosen per attempt (routing/attempts.ts):
 * - held: the response is not committed until the first token; the chunks read while waiting are handed
 *   to the responder ahead of the rest (awaitFirstToken).
 * - early: for OpenAI-format streams whose every fallback is OpenAI-format too, the response is committed
 *   at the provider's headers and the events before the first token (the role chunk) pass at once; if the
 *   provider fails before its first token, the next attempt's stream is spliced in behind them, its own
 *   pre-token events dropped (FirstTokenGuard). Bytes reach the client as soon as the provider sends them.
 */
/** The format of a streamed answer: a wire format's chat stream, or OpenAI's Responses events. */
export type StreamFormat = WireFormat | "responses";

const RESPONSES_TOKEN = "response\\.(output_text\\.delta|refusal\\.delta|function_call_arguments\\.delta|reasoning_summary_text\\.delta|reasoning_text\\.delta|output_item\\.done|completed|incomplete)";
const TOKEN: Record<StreamFormat, RegExp> = {
  responses: new RegExp(`"type"\\s*:\\s*"${RESPONSES_TOKEN}"|event:\\s*${RESPONSES_TOKEN}\\b`),
  openai: /"(content|reasoning|reasoning_content|refusal)"\s*:\s*"(?!")|"tool_calls"\s*:\s*\[|"finish_reason"\s*:\s*"|data:\s*\[DONE\]/,
  anthropic: /"type"\s*:\s*"(content_block_delta|message_stop)"|event:\s*(content_block_delta|message_stop)/,
  gemini: /"(text|functionCall|finishReason)"\s*:/,
};
const ERROR: Record<StreamFormat, RegExp> = {
  responses: /event:\s*(error|response\.failed)\b|"type"\s*:\s*"(error|response\.failed)"/,
  openai: /data:\s*\{\s*"error"\s*:/,
  anthropic: /event:\s*error|"type"\s*:\s*"error"/,
  gemini: /data:\s*\{\s*"error"\s*:/,
};

/**
 * Where a responder reads a streamed answer from: the upstream body's reader, or one that puts chunks in
 * front of it. `live` is false while the first token is still awaited: a stream's idle limit starts after it.
 */
export interface ChunkSource {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
  readonly live?: boolean;
  /** Every candidate failed before its first token: the answer never started. */
  readonly failed?: boolean;
}

export type FirstToken = { chunks: ChunkSource } | { error: string };

/** Reads `response` until its first token (or an in-band error, or its end). Aborting the fetch ends the wait. */
export async function awaitFirstToken(response: Response, format: StreamFormat): Promise<FirstToken> {
  const body = response.body;
  if (!body) return { error: "provider sent an empty stream" };
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const chunks: Uint8Array[] = [];
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      // A complete answer shorter than one read: hand it on as it is.
      if (TOKEN[format].test(text)) break;
      return { error: "provider ended the stream before the first token" };
    }
    chunks.push(value);
    text += decoder.decode(value, { stream: true });
    if (ERROR[format].test(text)) {
      void reader.cancel().catch(() => {});
      return { error: `provider sent an error before the first token: ${errorMessage(text)}` };
    }
    if (TOKEN[format].test(text)) break;
  }
  return { chunks: prefixed(chunks, reader) };
}

function errorMessage(text: string): string {
  const m = /"message"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(text);
  return m ? m[1]!.replace(/\\"/g, '"') : "unknown error";
}

/** `reader`, with `prefix` read first. */
function prefixed(prefix: Uint8Array[], reader: ReadableStreamDefaultReader<Uint8Array>): ChunkSource {
  let i = 0;
  return {
    read: () => (i < prefix.length ? Promise.resolve({ done: false, value: prefix[i++]! }) : reader.read()),
    cancel: (reason) => reader.cancel(reason),
  };
}

const joined = (parts: Uint8Array[]): Uint8Array => (parts.length === 1 ? parts[0]! : parts.reduce(concatBytes));

/** Decodes whole events only (never a part of a character), so one decoder serves every guard. */
const decoder = new TextDecoder();

/** What the guard needs from the attempt loop. */
export interface GuardHooks {
  /** The aborted attempt's reason, if its signal has one (first-token timeout, client gone). */
  reason(): unknown;
  /** The first token arrived: the attempt is served. */
  served(): void;
  /** The attempt failed before its first token: the next attempt's body, or a throw when none is left. */
  failover(error: AttemptError): Promise<ChunkSource>;
}

/**
 * An OpenAI-format stream committed before its first token (see above). Events before the first token are
 * passed on as they complete, unless an earlier attempt's already were; from the first token on, reads go
 * straight to the provider's body.
 */
export class FirstTokenGuard implements ChunkSource {
  live = false;
  failed = false;
  /** Set by the attempt loop; replaced when a failover switches the answer to another attempt. */
  hooks!: GuardHooks;
  private pending: Uint8Array | null = null;
  private passedPreamble = false;
  private replaying = false;

  constructor(private reader: ChunkSource) {}

  read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    return this.live ? this.reader.read() : this.untilToken();
  }

  cancel(reason?: unknown): Promise<void> {
    return this.reader.cancel(reason);
  }

  private async untilToken(): Promise<ReadableStreamReadResult<Uint8Array>> {
    const out: Uint8Array[] = [];
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await this.reader.read();
      } catch (err) {
        const reason = this.hooks.reason();
        await this.switch(reason instanceof AttemptError ? reason : new AttemptError(0, `provider stream failed before the first token: ${err instanceof Error ? err.message : String(err)}`, "unreachable"));
        continue;
      }
      if (r.done) {
        const rest = this.pending;
        this.pending = null;
        if (rest && TOKEN.openai.test(decoder.decode(rest))) return this.goLive(out, rest);
        await this.switch(new AttemptError(502, "provider ended the stream before the first token", "http"));
        continue;
      }
      const buf = this.pending ? concatBytes(this.pending, r.value) : r.value;
      let pos = 0;
      let end: number;
      let failed: string | null = null;
      while ((end = eventEnd(buf, pos)) !== -1) {
        const text = decoder.decode(buf.subarray(pos, end));
        if (ERROR.openai.test(text)) {
          failed = `provider sent an error before the first token: ${errorMessage(text)}`;
          break;
        }
        if (TOKEN.openai.test(text)) {
          this.pending = null;
          return this.goLive(out, buf.subarray(pos));
        }
        if (!this.replaying) {
          out.push(buf.subarray(pos, end));
          this.passedPreamble = true;
        }
        pos = end;
      }
      if (failed !== null) {
        this.pending = null;
        this.reader.cancel().catch(() => {});
        await this.switch(new AttemptError(502, failed, "http"));
        continue;
      }
      this.pending = pos < buf.length ? buf.slice(pos) : null;
      if (out.length > 0) return { done: false, value: joined(out) };
    }
  }

  private goLive(out: Uint8Array[], rest: Uint8Array): ReadableStreamReadResult<Uint8Array> {
    this.live = true;
    this.hooks.served();
    out.push(rest);
    return { done: false, value: joined(out) };
  }

  /** On to the next attempt; its events before the first token are dropped if this one's were passed on. */
  private async switch(error: AttemptError): Promise<void> {
    // The client went away: there is no one to fail over for.
    if (error.kind === "cancelled") throw error;
    try {
      this.reader = await this.hooks.failover(error);
    } catch (err) {
      this.failed = true;
      throw err;
    }
    this.pending = null;
    this.replaying = this.passedPreamble;
  }
}
