import type { TokenCounts } from "../ledger/cost";
import type { OpenAIToolCall, ReasoningDetail } from "../formats/translate-common";
import type { CompletionLog } from "./completion-log";
import { tokensOfBytes, utf8Length } from "./estimate";

/**
 * The pivot of stream translation: every translated upstream stream is decoded into these OpenAI-style
 * deltas (OpenRouter's `reasoning` fields included), and every client format is encoded from them.
 */
export interface PivotDelta {
  role?: "assistant";
  content?: string;
  reasoning?: string;
  reasoning_details?: ReasoningDetail[];
  tool_calls?: OpenAIToolCall[];
}

export interface PivotChunk {
  delta: PivotDelta;
  finish_reason?: string | null;
}

/** What a decoder learns about the stream besides its deltas; the encoder and the runner read it. */
export class StreamState {
  /** Usage the provider reported so far (possibly only the prompt side, e.g. Anthropic's message_start). */
  usage: TokenCounts | null = null;
  /** The provider's usage is final (complete answer). */
  usageFinal = false;
  /** The provider ended the answer properly (message_stop, [DONE], a finish reason then a clean end). */
  finished = false;
  finishReason: string | null = null;
  /** An error the provider sent in the stream. */
  error: string | null = null;
  /** UTF-8 bytes of text, reasoning and tool arguments streamed: the basis of an estimate when usage is missing. */
  chars = 0;
  /** Malformed events skipped. */
  dropped = 0;
  /** The team keeps its completions: every delta goes there too. */
  log?: CompletionLog;

  count(delta: PivotDelta): void {
    this.log?.add(delta);
    this.chars += utf8Length(delta.content ?? "") + utf8Length(delta.reasoning ?? "");
    for (const t of delta.tool_calls ?? []) this.chars += utf8Length(t.function?.arguments ?? "");
  }

  /** Tokens to bill: the provider's when final, otherwise an estimate (bytes / 4, as estimateTokens). */
  tokens(estimatePrompt: () => number): { tokens: TokenCounts; estimated: boolean } {
    if (this.usage && this.usageFinal) return { tokens: this.usage, estimated: false };
    const streamed = tokensOfBytes(this.chars);
    const u = this.usage;
    return {
      tokens: {
        prompt_tokens: u && u.prompt_tokens > 0 ? u.prompt_tokens : estimatePrompt(),
        completion_tokens: Math.max(u?.completion_tokens ?? 0, streamed),
        cached_tokens: u?.cached_tokens ?? 0,
        cache_write_tokens: u?.cache_write_tokens ?? 0,
        reasoning_tokens: 0,
      },
      estimated: true,
    };
  }
}
