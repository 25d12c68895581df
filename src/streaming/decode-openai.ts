import { tokensFromOpenAIUsage } from "../formats/openai-usage";
import type { PivotChunk, PivotDelta, StreamState } from "./pivot";
import { eventJson, type SseEvent } from "./sse-parse";

interface OpenAIChunk {
  choices?: { delta?: PivotDelta & { reasoning_content?: string }; finish_reason?: string | null }[];
  usage?: unknown;
  error?: { message?: string };
}

/**
 * An OpenAI-format upstream stream read as pivot deltas (for clients of another format). DeepSeek's
 * `reasoning_content` is read as `reasoning`.
 */
export async function* decodeOpenAIStream(events: AsyncIterable<SseEvent>, state: StreamState): AsyncGenerator<PivotChunk> {
  let sawFinish = false;
  for await (const ev of events) {
    if (ev.data.trim() === "[DONE]") {
      state.finished = true;
      return;
    }
    const c = eventJson<OpenAIChunk>(ev);
    if (!c || typeof c !== "object") {
      state.dropped++;
      continue;
    }
    if (c.error) {
      state.error = c.error.message ?? "the provider sent an error";
      return;
    }
    if (c.usage && typeof c.usage === "object") {
      state.usage = tokensFromOpenAIUsage(c.usage);
      state.usageFinal = true;
    }
    const choice = c.choices?.[0];
    if (!choice) continue;
    const delta: PivotDelta = { ...choice.delta };
    const rc = choice.delta?.reasoning_content;
    if (typeof rc === "string" && delta.reasoning === undefined) delta.reasoning = rc;
    delete (delta as { reasoning_content?: string }).reasoning_content;
    state.count(delta);
    if (choice.finish_reason) {
      sawFinish = true;
      state.finishReason = choice.finish_reason;
    }
    yield { delta, finish_reason: choice.finish_reason ?? null };
  }
  if (sawFinish) state.finished = true;
}
