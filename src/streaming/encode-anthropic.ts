import { OPENAI_STOP_REASON } from "../formats/translate-anthropic-openai";
import { anthropicUsageFromTokens } from "../formats/usage-formats";
import { usdNumber } from "../ledger/cost";
import type { PivotChunk, StreamState } from "./pivot";
import type { StreamEnding } from "./translated-stream";

export interface AnthropicStreamMeta {
  id: string;
  model: string;
  /** The client asked for thinking: reasoning deltas become thinking blocks (otherwise they are left out). */
  thinking: boolean;
}

const sse = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/**
 * Pivot (OpenAI) deltas → Anthropic Messages SSE, the event order the Anthropic SDK expects: message_start,
 * then content blocks (start, deltas, stop) one at a time, then message_delta with the stop reason and the
 * final usage, then message_stop. The usage counts only exist at the end (OpenAI and Gemini report them last),
 * so message_start carries zeros and message_delta the whole set, which the SDK takes as the totals.
 */
export async function* encodeAnthropicStream(
  chunks: AsyncIterable<PivotChunk>,
  state: StreamState,
  ending: StreamEnding,
  meta: AnthropicStreamMeta,
): AsyncGenerator<string> {
  let started = false;
  let index = -1;
  let open: "text" | "thinking" | "tool" | null = null;
  let openTool = -1;
  const start = () => {
    started = true;
    return sse("message_start", {
      message: {
        id: meta.id,
        type: "message",
        role: "assistant",
        model: meta.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
    });
  };
  const close = () => {
    const out = open === null ? "" : sse("content_block_stop", { index });
    open = null;
    return out;
  };
  const begin = (kind: "text" | "thinking" | "tool", block: Record<string, unknown>) => {
    const out = close() + sse("content_block_start", { index: ++index, content_block: block });
    open = kind;
    return out;
  };

  for await (const { delta } of chunks) {
    let out = started ? "" : start();
    if (meta.thinking && delta.reasoning) {
      if (open !== "thinking") out += begin("thinking", { type: "thinking", thinking: "", signature: "" });
      out += sse("content_block_delta", { index, delta: { type: "thinking_delta", thinking: delta.reasoning } });
    }
    if (meta.thinking && open === "thinking") {
      for (const d of delta.reasoning_details ?? []) {
        if (d.signature) out += sse("content_block_delta", { index, delta: { type: "signature_delta", signature: d.signature } });
      }
    }
    if (delta.content) {
      if (open !== "text") out += begin("text", { type: "text", text: "" });
      out += sse("content_block_delta", { index, delta: { type: "text_delta", text: delta.content } });
    }
    for (const call of delta.tool_calls ?? []) {
      const i = call.index ?? 0;
      if (open !== "tool" || i !== openTool) {
        openTool = i;
        out += begin("tool", { type: "tool_use", id: call.id ?? "", name: call.function?.name ?? "", input: {} });
      }
      const args = call.function?.arguments;
      if (args) out += sse("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: args } });
    }
    if (out !== "") yield out;
  }
  if (!state.finished || state.error) return;
  const { tokens, cost } = ending.bill();
  const usage = { ...anthropicUsageFromTokens(tokens), cost: usdNumber(cost) };
  yield (started ? "" : start()) +
    close() +
    sse("message_delta", {
      delta: { stop_reason: OPENAI_STOP_REASON[state.finishReason ?? "stop"] ?? "end_turn", stop_sequence: null },
      usage,
    }) +
    sse("message_stop", {});
}

/** The in-band error that ends an Anthropic-format stream that did not finish. */
export function anthropicStreamError(message: string, status: number): string {
  const type = status === 504 ? "timeout_error" : status === 529 || status === 503 ? "overloaded_error" : "api_error";
  return sse("error", { error: { type, message } });
}
