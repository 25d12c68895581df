import { usdNumber } from "../ledger/cost";
import { openAIUsageFromTokens } from "../formats/usage-formats";
import type { PivotChunk, StreamState } from "./pivot";
import type { StreamEnding } from "./translated-stream";

export interface OpenAIStreamMeta {
  id: string;
  created: number;
  model: string;
  provider: string;
}

/**
 * Pivot deltas → OpenAI chat.completion.chunk events, then (if the answer finished) the usage chunk with
 * `cost` and [DONE], as the OpenAI-format passthrough ends its streams.
 */
export async function* encodeOpenAIStream(
  chunks: AsyncIterable<PivotChunk>,
  state: StreamState,
  ending: StreamEnding,
  meta: OpenAIStreamMeta,
): AsyncGenerator<string> {
  const base = { id: meta.id, object: "chat.completion.chunk", created: meta.created, model: meta.model, provider: meta.provider };
  for await (const { delta, finish_reason } of chunks) {
    // A continued answer (continuable-stream.ts) names, from its switch on, the model that continues it.
    base.model = meta.model;
    base.provider = meta.provider;
    yield `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish_reason ?? null, logprobs: null }] })}\n\n`;
  }
  base.model = meta.model;
  base.provider = meta.provider;
  if (!state.finished || state.error) return;
  const { tokens, cost } = ending.bill();
  const usage = { ...openAIUsageFromTokens(tokens), cost: usdNumber(cost) };
  yield `data: ${JSON.stringify({ ...base, choices: [], usage })}\n\ndata: [DONE]\n\n`;
}

/** The in-band error that ends an OpenAI-format stream that did not finish (as the passthrough sends it). */
export function openAIStreamError(meta: OpenAIStreamMeta, message: string, code: number): string {
  return `data: ${JSON.stringify({
    id: meta.id,
    object: "chat.completion.chunk",
    created: meta.created,
    model: meta.model,
    provider: meta.provider,
    error: { code, message },
    choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }],
  })}\n\n`;
}
