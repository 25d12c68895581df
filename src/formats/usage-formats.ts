import type { TokenCounts } from "../ledger/cost";

/*
 * Token counts from each provider format's usage report, normalised as OpenRouter counts them (DESIGN.md,
 * Money): prompt includes cache reads and writes, completion includes reasoning.
 */

const int = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number | null } | null;
  server_tool_use?: { web_search_requests?: number | null } | null;
}

/** Anthropic: input_tokens excludes the cache, so prompt = input + cache read + cache write. */
export function tokensFromAnthropicUsage(usage: unknown): TokenCounts | null {
  if (!usage || typeof usage !== "object") return null;
  const u = usage as AnthropicUsage;
  // A usage object with neither count is no report (some providers send `{}`): the caller estimates.
  if (typeof u.input_tokens !== "number" && typeof u.output_tokens !== "number") return null;
  const cached = int(u.cache_read_input_tokens);
  const cacheWrite = int(u.cache_creation_input_tokens);
  const completion = int(u.output_tokens);
  const searches = int(u.server_tool_use?.web_search_requests);
  return {
    prompt_tokens: int(u.input_tokens) + cached + cacheWrite,
    completion_tokens: completion,
    cached_tokens: cached,
    cache_write_tokens: cacheWrite,
    reasoning_tokens: Math.min(completion, int(u.output_tokens_details?.thinking_tokens)),
    ...(searches > 0 ? { web_search_requests: searches } : {}),
  };
}

/** The Anthropic usage object for normalised counts (the inverse of tokensFromAnthropicUsage). */
export function anthropicUsageFromTokens(t: TokenCounts): Record<string, unknown> {
  const usage: Record<string, unknown> = {
    input_tokens: Math.max(0, t.prompt_tokens - t.cached_tokens - t.cache_write_tokens),
    output_tokens: t.completion_tokens,
    cache_creation_input_tokens: t.cache_write_tokens,
    cache_read_input_tokens: t.cached_tokens,
  };
  if (t.reasoning_tokens > 0) usage.output_tokens_details = { thinking_tokens: t.reasoning_tokens };
  return usage;
}

export interface GeminiUsage {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  cachedContentTokenCount?: number;
  thoughtsTokenCount?: number;
  toolUsePromptTokenCount?: number;
}

/**
 * Gemini: promptTokenCount already includes cachedContentTokenCount; thoughts are billed as output but
 * reported apart from candidates, so completion = candidates + thoughts. Tool-use prompt tokens (from
 * built-in tools) are billed as input.
 */
export function tokensFromGeminiUsage(usage: unknown): TokenCounts | null {
  if (!usage || typeof usage !== "object") return null;
  const u = usage as GeminiUsage;
  const reasoning = int(u.thoughtsTokenCount);
  return {
    prompt_tokens: int(u.promptTokenCount) + int(u.toolUsePromptTokenCount),
    completion_tokens: int(u.candidatesTokenCount) + reasoning,
    cached_tokens: int(u.cachedContentTokenCount),
    cache_write_tokens: 0,
    reasoning_tokens: reasoning,
  };
}

/** The OpenAI usage object for normalised counts, with OpenRouter's detail fields. */
export function openAIUsageFromTokens(t: TokenCounts): Record<string, unknown> {
  return {
    prompt_tokens: t.prompt_tokens,
    completion_tokens: t.completion_tokens,
    total_tokens: t.prompt_tokens + t.completion_tokens,
    prompt_tokens_details: { cached_tokens: t.cached_tokens, cache_write_tokens: t.cache_write_tokens },
    completion_tokens_details: { reasoning_tokens: t.reasoning_tokens },
  };
}

interface ResponsesUsage {
  input_tokens?: number;
  output_tokens?: number;
  input_tokens_details?: { cached_tokens?: number } | null;
  output_tokens_details?: { reasoning_tokens?: number } | null;
}

/** Token counts from a Response's `usage` (input tokens include the cached ones, as chat's prompt tokens do). */
export function tokensFromResponsesUsage(usage: unknown): TokenCounts | null {
  if (!usage || typeof usage !== "object") return null;
  const u = usage as ResponsesUsage;
  return {
    prompt_tokens: int(u.input_tokens),
    completion_tokens: int(u.output_tokens),
    cached_tokens: int(u.input_tokens_details?.cached_tokens),
    cache_write_tokens: 0,
    reasoning_tokens: int(u.output_tokens_details?.reasoning_tokens),
  };
}
