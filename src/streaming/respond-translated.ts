import type { WireFormat } from "../catalog/types";
import { usdNumber, ZERO_TOKENS, type TokenCounts } from "../ledger/cost";
import { tokensFromOpenAIUsage } from "../formats/openai-usage";
import { openAIToAnthropicMessage } from "../formats/translate-anthropic-openai";
import type { Json } from "../formats/translate-common";
import { anthropicMessageToOpenAIChoice, type AnthropicMessage } from "../formats/translate-openai-anthropic";
import { geminiToOpenAIChoice, type GeminiResponse } from "../formats/translate-openai-gemini";
import { openAIUsageFromTokens, tokensFromAnthropicUsage, tokensFromGeminiUsage } from "../formats/usage-formats";
import { encodeOpenAIStream, openAIStreamError, type OpenAIStreamMeta } from "./encode-openai";
import { answerText, estimateTokens } from "./estimate";
import { readAnswerJson, registerResponder, servedHeaders, type ResponderContext } from "./responder";
import { decodeAnthropicStream } from "./decode-anthropic";
import { decodeGeminiStream } from "./decode-gemini";
import { decodeOpenAIStream } from "./decode-openai";
import { anthropicStreamError, encodeAnthropicStream, type AnthropicStreamMeta } from "./encode-anthropic";
import { translatedStreamResponse } from "./translated-stream";
import type { PivotChunk, StreamState } from "./pivot";
import type { SseEvent } from "./sse-parse";

/*
 * Responders for every pair whose formats differ. A provider's answer is read into the pivot (an OpenAI
 * choice and token counts), then written in the client's format with usage and cost.
 */

export interface Pivot {
  choice: Json;
  tokens: TokenCounts | null;
}

export const READ_PIVOT: Record<WireFormat, (json: Json) => Pivot> = {
  openai: (json) => ({ choice: ((json.choices as Json[] | undefined)?.[0] ?? { index: 0, message: { role: "assistant", content: "" }, finish_reason: "stop" }), tokens: tokensFromOpenAIUsage(json.usage) }),
  anthropic: (json) => ({ choice: anthropicMessageToOpenAIChoice(json as AnthropicMessage), tokens: tokensFromAnthropicUsage(json.usage) }),
  gemini: (json) => ({ choice: geminiToOpenAIChoice(json as GeminiResponse), tokens: tokensFromGeminiUsage((json as GeminiResponse).usageMetadata) }),
};

export const DECODE: Record<WireFormat, (events: AsyncIterable<SseEvent>, state: StreamState) => AsyncGenerator<PivotChunk>> = {
  openai: decodeOpenAIStream,
  anthropic: decodeAnthropicStream,
  gemini: decodeGeminiStream,
};

export function billPivot(ctx: ResponderContext, pivot: Pivot): { tokens: TokenCounts; cost: bigint } {
  const msg = pivot.choice.message as Json | undefined;
  const tokens = pivot.tokens ?? { ...ZERO_TOKENS, prompt_tokens: ctx.greq.estimatePromptTokens(), completion_tokens: estimateTokens(answerText(msg)) };
  return { tokens, cost: ctx.bill(tokens, pivot.tokens === null) };
}

function anthropicThinking(ctx: ResponderContext): boolean {
  const t = (ctx.greq.body.thinking as { type?: string } | undefined)?.type;
  return t === "enabled" || t === "adaptive";
}

const anthropicMessageId = (requestId: string) => `msg_${requestId.replace(/^gen-/, "")}`;

function openAIMeta(ctx: ResponderContext): OpenAIStreamMeta {
  const { planned } = ctx.served;
  return { id: ctx.requestId, created: Math.floor(ctx.event.created_at / 1000), model: planned.model.id, provider: planned.provider.name };
}

function anthropicMeta(ctx: ResponderContext): AnthropicStreamMeta {
  return { id: anthropicMessageId(ctx.requestId), model: ctx.served.planned.model.id, thinking: anthropicThinking(ctx) };
}

/** Responds to an OpenAI-format client from a provider of another format. */
function toOpenAIClient(upstream: Exclude<WireFormat, "openai">) {
  return async (ctx: ResponderContext): Promise<Response> => {
    const meta = openAIMeta(ctx);
    if (ctx.greq.stream) {
      return translatedStreamResponse(ctx, {
        decode: DECODE[upstream],
        encode: (chunks, state, ending) => encodeOpenAIStream(chunks, state, ending, meta),
        errorEvent: (message, status) => openAIStreamError(meta, message, status),
      });
    }
    const pivot = READ_PIVOT[upstream](await readAnswerJson(ctx));
    const { tokens, cost } = billPivot(ctx, pivot);
    const body = {
      id: meta.id,
      object: "chat.completion",
      created: meta.created,
      model: meta.model,
      provider: meta.provider,
      choices: [pivot.choice],
      // Required (nullable) by OpenRouter's SDK; no provider of another format has one.
      system_fingerprint: null,
      usage: { ...openAIUsageFromTokens(tokens), cost: usdNumber(cost) },
    };
    ctx.completion?.setMessage(pivot.choice.message ?? null);
    void ctx.finish("ok");
    return new Response(JSON.stringify(body), { status: 200, headers: servedHeaders(ctx, "application/json") });
  };
}

/** Responds to an Anthropic-format client from a provider of another format. */
function toAnthropicClient(upstream: Exclude<WireFormat, "anthropic">) {
  return async (ctx: ResponderContext): Promise<Response> => {
    const meta = anthropicMeta(ctx);
    if (ctx.greq.stream) {
      return translatedStreamResponse(ctx, {
        decode: DECODE[upstream],
        encode: (chunks, state, ending) => encodeAnthropicStream(chunks, state, ending, meta),
        errorEvent: anthropicStreamError,
      });
    }
    const pivot = READ_PIVOT[upstream](await readAnswerJson(ctx));
    const { tokens, cost } = billPivot(ctx, pivot);
    const body = openAIToAnthropicMessage({ choices: [pivot.choice] }, { id: meta.id, model: meta.model, tokens, cost: usdNumber(cost), thinking: meta.thinking });
    ctx.completion?.setMessage(body.content ?? null);
    void ctx.finish("ok");
    return new Response(JSON.stringify(body), { status: 200, headers: servedHeaders(ctx, "application/json") });
  };
}

registerResponder("openai", "anthropic", toOpenAIClient("anthropic"));
registerResponder("openai", "gemini", toOpenAIClient("gemini"));
registerResponder("anthropic", "openai", toAnthropicClient("openai"));
registerResponder("anthropic", "gemini", toAnthropicClient("gemini"));
