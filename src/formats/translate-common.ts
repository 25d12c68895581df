/*
 * Shapes and helpers shared by the format translators. The OpenAI chat format (with OpenRouter's additions:
 * `reasoning`, `reasoning_details`, usage details) is the pivot: Anthropic ingress is translated to it before
 * reaching a Gemini upstream, and every upstream's answer is read into it before being written out as
 * Anthropic. Translators are total: what the target format cannot say is dropped (the capability check
 * in capabilities.ts has already refused the request if that mattered).
 */

export type Json = Record<string, unknown>;

export interface OpenAIToolCall {
  id?: string;
  index?: number;
  type?: "function";
  function?: { name?: string; arguments?: string };
}

export interface OpenAIMessage {
  role: string;
  content?: unknown;
  name?: string;
  tool_calls?: OpenAIToolCall[];
  tool_call_id?: string;
  reasoning?: string | null;
  reasoning_details?: ReasoningDetail[];
}

/** OpenRouter's reasoning_details: carries Anthropic thinking signatures through OpenAI-format clients. */
export interface ReasoningDetail {
  type: "reasoning.text" | "reasoning.encrypted" | "reasoning.summary";
  text?: string;
  signature?: string | null;
  data?: string;
  format?: string;
  index?: number;
}

export interface OpenAITool {
  type?: string;
  function?: { name: string; description?: string; parameters?: Json; strict?: boolean };
}

export type OpenAIToolChoice = "auto" | "none" | "required" | { type: "function"; function: { name: string } } | undefined;

export interface OpenAIChatBody extends Json {
  messages: OpenAIMessage[];
  tools?: OpenAITool[];
  tool_choice?: OpenAIToolChoice;
  parallel_tool_calls?: boolean;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  stop?: string | string[] | null;
  response_format?: { type: string; json_schema?: { name?: string; schema?: Json; strict?: boolean } };
  reasoning?: { effort?: string; max_tokens?: number; enabled?: boolean; exclude?: boolean };
  reasoning_effort?: string;
  user?: string;
  stream?: boolean;
}

export const ANTHROPIC_REASONING_FORMAT = "anthropic-claude-v1";

/** `data:<mime>;base64,<data>` → parts, or null for anything else (an http(s) URL). */
export function parseDataUrl(url: string): { mediaType: string; data: string } | null {
  const m = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  return m ? { mediaType: m[1]!, data: m[2]! } : null;
}

/** Arguments of a tool call as an object; a model's malformed JSON becomes `{}` rather than failing the turn. */
export function parseArguments(args: string | undefined): Json {
  if (!args) return {};
  try {
    const v = JSON.parse(args) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : { value: v };
  } catch {
    return {};
  }
}

/** The text of an OpenAI content value (string or parts). */
export function openAIText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((p) => (p && typeof p === "object" && typeof (p as Json).text === "string" ? ((p as Json).text as string) : ""))
    .join("");
}

/** Reasoning budget in tokens for an OpenAI / OpenRouter reasoning request, or null when none is asked for. */
export function reasoningBudget(body: OpenAIChatBody, maxTokens: number): number | null {
  const r = body.reasoning;
  if (r?.enabled === false) return null;
  if (typeof r?.max_tokens === "number" && r.max_tokens > 0) return Math.floor(r.max_tokens);
  const effort = r?.effort ?? body.reasoning_effort ?? (r?.enabled ? "medium" : undefined);
  if (!effort || effort === "none") return null;
  const ratio = { minimal: 0.1, low: 0.2, medium: 0.5, high: 0.8, xhigh: 0.95, max: 0.95 }[effort] ?? 0.5;
  return Math.max(1024, Math.floor(maxTokens * ratio));
}

/** An OpenAI reasoning_effort for a token budget (Anthropic thinking → OpenAI-format upstreams). */
export function effortForBudget(budget: number): "low" | "medium" | "high" {
  return budget < 4096 ? "low" : budget < 16384 ? "medium" : "high";
}

export function newToolCallId(): string {
  return `call_${crypto.randomUUID().replace(/-/g, "").slice(0, 24)}`;
}
