import type { TokenCounts } from "../ledger/cost";

interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}

const int = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/** Token counts from an OpenAI-format `usage` object, as OpenRouter counts them. */
export function tokensFromOpenAIUsage(usage: unknown): TokenCounts | null {
  if (!usage || typeof usage !== "object") return null;
  const u = usage as OpenAIUsage;
  return {
    prompt_tokens: int(u.prompt_tokens),
    completion_tokens: int(u.completion_tokens),
    cached_tokens: int(u.prompt_tokens_details?.cached_tokens),
    cache_write_tokens: int(u.prompt_tokens_details?.cache_write_tokens),
    reasoning_tokens: int(u.completion_tokens_details?.reasoning_tokens),
  };
}
