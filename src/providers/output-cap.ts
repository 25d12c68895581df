import type { CatalogModel, WireFormat } from "../catalog/types";

const count = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.ceil(v) : 0);

/**
 * The most output tokens an upstream body lets its provider produce, thinking included: what budgets hold and
 * rate limits count, read from the body actually sent (after translation), not from what the client asked.
 * Where the body names no cap, the model's catalog max_output is the bound.
 * - Anthropic: `max_tokens` (a thinking budget lies within it).
 * - OpenAI format: `max_completion_tokens` or `max_tokens`, plus an OpenRouter-style `reasoning.max_tokens`
 *   (counted on top: not every compatible provider counts it within the cap).
 * - Gemini: `generationConfig.maxOutputTokens` plus `thinkingConfig.thinkingBudget` (dynamic: max_output).
 */
export function outputCapOf(format: WireFormat, body: Record<string, unknown>, model: CatalogModel): number {
  const or = (n: number) => n || model.max_output;
  if (format === "anthropic") return or(count(body.max_tokens));
  if (format === "gemini") {
    const gen = (body.generationConfig ?? {}) as { maxOutputTokens?: unknown; thinkingConfig?: { thinkingBudget?: unknown } };
    const budget = gen.thinkingConfig?.thinkingBudget;
    const thinking = budget === -1 ? model.max_output : count(budget);
    return or(count(gen.maxOutputTokens)) + thinking;
  }
  const reasoning = (body.reasoning ?? {}) as { max_tokens?: unknown };
  return or(count(body.max_completion_tokens) || count(body.max_tokens)) + count(reasoning.max_tokens);
}
