import { ANTHROPIC_REASONING_FORMAT } from "../formats/translate-common";
import { ANTHROPIC_FINISH } from "../formats/translate-openai-anthropic";
import { tokensFromAnthropicUsage, type AnthropicUsage } from "../formats/usage-formats";
import type { PivotChunk, StreamState } from "./pivot";
import { eventJson, type SseEvent } from "./sse-parse";

interface AnthropicEvent {
  type: string;
  index?: number;
  message?: { usage?: AnthropicUsage };
  content_block?: { type: string; id?: string; name?: string; text?: string; data?: string };
  delta?: { type?: string; text?: string; thinking?: string; signature?: string; partial_json?: string; stop_reason?: string | null };
  usage?: AnthropicUsage;
  error?: { type?: string; message?: string };
}

/**
 * Anthropic Messages SSE → pivot (OpenAI) deltas. Usage comes in two halves: the prompt side in message_start,
 * the final output count (and, from newer API versions, the whole set again) in message_delta.
 */
export async function* decodeAnthropicStream(events: AsyncIterable<SseEvent>, state: StreamState): AsyncGenerator<PivotChunk> {
  let usage: AnthropicUsage = {};
  const toolIndexOfBlock = new Map<number, number>();
  let tools = 0;
  for await (const ev of events) {
    const e = eventJson<AnthropicEvent>(ev);
    if (!e || typeof e.type !== "string") {
      state.dropped++;
      continue;
    }
    let chunk: PivotChunk | null = null;
    switch (e.type) {
      case "message_start":
        usage = { ...e.message?.usage };
        state.usage = tokensFromAnthropicUsage(usage);
        chunk = { delta: { role: "assistant", content: "" } };
        break;
      case "content_block_start": {
        const b = e.content_block;
        if (b?.type === "tool_use") {
          toolIndexOfBlock.set(e.index ?? 0, tools);
          chunk = { delta: { tool_calls: [{ index: tools++, id: b.id, type: "function", function: { name: b.name, arguments: "" } }] } };
        } else if (b?.type === "text" && b.text) chunk = { delta: { content: b.text } };
        else if (b?.type === "redacted_thinking" && b.data) {
          chunk = { delta: { reasoning_details: [{ type: "reasoning.encrypted", data: b.data, format: ANTHROPIC_REASONING_FORMAT }] } };
        }
        break;
      }
      case "content_block_delta": {
        const d = e.delta;
        if (d?.type === "text_delta") chunk = { delta: { content: d.text ?? "" } };
        else if (d?.type === "thinking_delta") chunk = { delta: { reasoning: d.thinking ?? "" } };
        else if (d?.type === "signature_delta") {
          chunk = { delta: { reasoning_details: [{ type: "reasoning.text", text: "", signature: d.signature ?? "", format: ANTHROPIC_REASONING_FORMAT }] } };
        } else if (d?.type === "input_json_delta") {
          chunk = { delta: { tool_calls: [{ index: toolIndexOfBlock.get(e.index ?? 0) ?? 0, function: { arguments: d.partial_json ?? "" } }] } };
        }
        break;
      }
      case "message_delta":
        for (const [k, v] of Object.entries(e.usage ?? {})) if (v !== null && v !== undefined) (usage as Record<string, unknown>)[k] = v;
        state.usage = tokensFromAnthropicUsage(usage);
        state.usageFinal = typeof usage.output_tokens === "number";
        if (e.delta?.stop_reason) {
          state.finishReason = ANTHROPIC_FINISH[e.delta.stop_reason] ?? "stop";
          chunk = { delta: {}, finish_reason: state.finishReason };
        }
        break;
      case "message_stop":
        state.finished = true;
        return;
      case "error":
        state.error = `${e.error?.type ?? "error"}: ${e.error?.message ?? "the provider sent an error"}`;
        return;
      default:
        break; // ping, content_block_stop, and event types added later
    }
    if (chunk) {
      state.count(chunk.delta);
      yield chunk;
    }
  }
}
