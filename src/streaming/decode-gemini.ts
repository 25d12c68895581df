import { newToolCallId } from "../formats/translate-common";
import { geminiFinishReason, type GeminiResponse } from "../formats/translate-openai-gemini";
import { tokensFromGeminiUsage } from "../formats/usage-formats";
import type { PivotChunk, PivotDelta, StreamState } from "./pivot";
import { eventJson, type SseEvent } from "./sse-parse";

/**
 * Gemini streamGenerateContent (alt=sse) → pivot (OpenAI) deltas. Each event is a whole response fragment;
 * function calls arrive complete, so their arguments are one delta. usageMetadata is cumulative: the last
 * one counts. Gemini has no end marker: a finish reason followed by a clean end is a finished answer.
 */
export async function* decodeGeminiStream(events: AsyncIterable<SseEvent>, state: StreamState): AsyncGenerator<PivotChunk> {
  let started = false;
  let tools = 0;
  let sawFinish = false;
  for await (const ev of events) {
    const r = eventJson<GeminiResponse & { error?: { message?: string; status?: string } }>(ev);
    if (!r || typeof r !== "object") {
      state.dropped++;
      continue;
    }
    if (r.error) {
      state.error = `${r.error.status ?? "error"}: ${r.error.message ?? "the provider sent an error"}`;
      return;
    }
    if (r.usageMetadata) state.usage = tokensFromGeminiUsage(r.usageMetadata);
    if (!started) {
      started = true;
      yield { delta: { role: "assistant", content: "" } };
    }
    const candidate = r.candidates?.[0];
    for (const p of candidate?.content?.parts ?? []) {
      let delta: PivotDelta | null = null;
      if (typeof p.text === "string" && p.text !== "") delta = p.thought ? { reasoning: p.text } : { content: p.text };
      else if (p.functionCall) {
        delta = {
          tool_calls: [
            {
              index: tools++,
              id: p.functionCall.id ?? newToolCallId(),
              type: "function",
              function: { name: p.functionCall.name ?? "", arguments: JSON.stringify(p.functionCall.args ?? {}) },
            },
          ],
        };
      }
      if (delta) {
        state.count(delta);
        yield { delta };
      }
    }
    const blocked = r.promptFeedback?.blockReason !== undefined;
    if ((candidate?.finishReason || blocked) && !sawFinish) {
      sawFinish = true;
      state.finishReason = geminiFinishReason(candidate?.finishReason, tools > 0, blocked);
      yield { delta: {}, finish_reason: state.finishReason };
    }
  }
  if (sawFinish) {
    state.finished = true;
    state.usageFinal = state.usage !== null;
  }
}
