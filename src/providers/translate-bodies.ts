import { GATEWAY_ONLY_FIELDS, registerBodyBuilder } from "./bodies";
import { bodyToTranslate } from "./capabilities";
import { anthropicToOpenAIRequest, type AnthropicBody } from "../formats/translate-anthropic-openai";
import type { OpenAIChatBody } from "../formats/translate-common";
import { openAIToAnthropicRequest } from "../formats/translate-openai-anthropic";
import { openAIToGeminiRequest } from "../formats/translate-openai-gemini";

/* Upstream bodies for every pair other than OpenAI → OpenAI (bodies.ts). */

registerBodyBuilder("openai", "anthropic", (greq, planned) =>
  openAIToAnthropicRequest(bodyToTranslate(greq, planned) as OpenAIChatBody, {
    upstreamModel: planned.model.upstream_id,
    maxOutput: planned.model.max_output,
    stream: greq.stream,
  }),
);

registerBodyBuilder("openai", "gemini", (greq, planned) =>
  openAIToGeminiRequest(bodyToTranslate(greq, planned) as OpenAIChatBody, { maxOutput: planned.model.max_output }),
);

/** Anthropic in, Anthropic out: the client's body with the upstream model name; nothing else changes. */
registerBodyBuilder("anthropic", "anthropic", (greq, planned) => {
  const body: Record<string, unknown> = { ...bodyToTranslate(greq, planned), model: planned.model.upstream_id };
  for (const f of GATEWAY_ONLY_FIELDS) delete body[f];
  return body;
});

registerBodyBuilder("anthropic", "openai", (greq, planned) =>
  anthropicToOpenAIRequest(bodyToTranslate(greq, planned) as AnthropicBody, {
    upstreamModel: planned.model.upstream_id,
    maxTokensField: planned.provider.id === "openai" ? "max_completion_tokens" : "max_tokens",
    reasoning: planned.model.capabilities.reasoning,
    stream: greq.stream,
  }),
);

/** Anthropic in, Gemini out: through the OpenAI pivot, keeping the exact thinking budget. */
registerBodyBuilder("anthropic", "gemini", (greq, planned) => {
  const body = bodyToTranslate(greq, planned) as AnthropicBody;
  const pivot = anthropicToOpenAIRequest(body, { upstreamModel: planned.model.upstream_id, maxTokensField: "max_tokens", reasoning: true, stream: false });
  if (body.thinking?.type === "enabled" && body.thinking.budget_tokens) pivot.reasoning = { max_tokens: body.thinking.budget_tokens };
  return openAIToGeminiRequest(pivot, { maxOutput: planned.model.max_output });
});
