import { anthropicUsageFromTokens } from "./usage-formats";
import type { TokenCounts } from "../ledger/cost";
import {
  ANTHROPIC_REASONING_FORMAT,
  effortForBudget,
  openAIText,
  parseArguments,
  type Json,
  type OpenAIChatBody,
  type OpenAIMessage,
  type ReasoningDetail,
} from "./translate-common";

/*
 * Anthropic Messages format in, OpenAI chat format out: the request (also the first half of Anthropic →
 * Gemini), and an OpenAI-format answer back as an Anthropic message. Streams: streaming/translate-openai-to-anthropic.ts.
 */

type Block = Json & { type: string };

export interface AnthropicBody extends Json {
  messages: { role: string; content: string | Block[] }[];
  system?: string | Block[];
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stop_sequences?: string[];
  tools?: (Json & { name: string; description?: string; input_schema?: Json; type?: string })[];
  tool_choice?: { type: string; name?: string; disable_parallel_tool_use?: boolean };
  thinking?: { type: string; budget_tokens?: number };
  output_config?: { effort?: string; format?: { type: string; schema?: Json } | null };
  metadata?: { user_id?: string };
  stream?: boolean;
}

export interface OpenAITarget {
  upstreamModel: string;
  /** OpenAI itself wants max_completion_tokens (its reasoning models refuse max_tokens); the compatible family max_tokens. */
  maxTokensField: "max_tokens" | "max_completion_tokens";
  /** Whether the model reasons (reasoning_effort is sent only then). */
  reasoning: boolean;
  stream: boolean;
}

function imagePart(source: Json | undefined): Json | null {
  if (!source) return null;
  if (source.type === "base64") return { type: "image_url", image_url: { url: `data:${source.media_type};base64,${source.data}` } };
  if (source.type === "url") return { type: "image_url", image_url: { url: source.url } };
  return null;
}

function userParts(blocks: Block[]): Json[] {
  const parts: Json[] = [];
  for (const b of blocks) {
    if (b.type === "text") parts.push({ type: "text", text: b.text, ...(b.cache_control ? { cache_control: b.cache_control } : {}) });
    else if (b.type === "image") {
      const p = imagePart(b.source as Json | undefined);
      if (p) parts.push(p);
    } else if (b.type === "document") {
      const s = b.source as Json | undefined;
      if (s?.type === "base64") parts.push({ type: "file", file: { filename: (b.title as string) ?? "document.pdf", file_data: `data:${s.media_type};base64,${s.data}` } });
      else if (s?.type === "text") parts.push({ type: "text", text: s.data });
    }
  }
  return parts;
}

function toolResultText(b: Block): string {
  const c = b.content;
  const text = typeof c === "string" ? c : Array.isArray(c) ? openAIText(c) : "";
  return b.is_error ? `Error: ${text}` : text;
}

function convertMessages(body: AnthropicBody): OpenAIMessage[] {
  const out: OpenAIMessage[] = [];
  if (body.system !== undefined) {
    const text = typeof body.system === "string" ? body.system : openAIText(body.system);
    if (text !== "") out.push({ role: "system", content: text });
  }
  for (const m of body.messages) {
    const blocks: Block[] = typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content;
    if (m.role === "assistant") {
      let text = "";
      let reasoning = "";
      const details: ReasoningDetail[] = [];
      const calls = [];
      for (const b of blocks) {
        if (b.type === "text") text += b.text as string;
        else if (b.type === "tool_use") calls.push({ id: b.id as string, type: "function" as const, function: { name: b.name as string, arguments: JSON.stringify(b.input ?? {}) } });
        else if (b.type === "thinking") {
          reasoning += b.thinking as string;
          details.push({ type: "reasoning.text", text: b.thinking as string, signature: b.signature as string, format: ANTHROPIC_REASONING_FORMAT });
        }
      }
      const msg: OpenAIMessage = { role: "assistant", content: text === "" && calls.length > 0 ? null : text };
      if (calls.length > 0) msg.tool_calls = calls;
      if (details.length > 0) {
        msg.reasoning = reasoning;
        msg.reasoning_details = details;
      }
      out.push(msg);
      continue;
    }
    // A user turn: tool results first (they answer the previous assistant turn), then the rest.
    for (const b of blocks) {
      if (b.type === "tool_result") out.push({ role: "tool", tool_call_id: b.tool_use_id as string, content: toolResultText(b) });
    }
    const parts = userParts(blocks.filter((b) => b.type !== "tool_result"));
    if (parts.length === 0) continue;
    const plain = parts.every((p) => p.type === "text" && !p.cache_control);
    out.push({ role: "user", content: plain ? parts.map((p) => p.text as string).join("") : parts });
  }
  return out;
}

export function anthropicToOpenAIRequest(body: AnthropicBody, target: OpenAITarget): OpenAIChatBody {
  const out: OpenAIChatBody = { model: target.upstreamModel, messages: convertMessages(body) };
  if (typeof body.max_tokens === "number") out[target.maxTokensField] = body.max_tokens;
  if (typeof body.temperature === "number") out.temperature = body.temperature;
  if (typeof body.top_p === "number") out.top_p = body.top_p;
  if (body.stop_sequences?.length) out.stop = body.stop_sequences;
  const tools = (body.tools ?? []).filter((t) => t.type === undefined || t.type === "custom");
  if (tools.length > 0) {
    out.tools = tools.map((t) => ({
      type: "function",
      function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.input_schema ?? { type: "object", properties: {} } },
    }));
    const c = body.tool_choice;
    if (c?.type === "auto") out.tool_choice = "auto";
    else if (c?.type === "any") out.tool_choice = "required";
    else if (c?.type === "none") out.tool_choice = "none";
    else if (c?.type === "tool" && c.name) out.tool_choice = { type: "function", function: { name: c.name } };
    if (c?.disable_parallel_tool_use) out.parallel_tool_calls = false;
  }
  const format = body.output_config?.format;
  if (format?.type === "json_schema" && format.schema) {
    out.response_format = { type: "json_schema", json_schema: { name: "output", schema: format.schema, strict: true } };
  }
  if (target.reasoning) {
    const effort = body.output_config?.effort;
    if (body.thinking?.type === "enabled" && body.thinking.budget_tokens) {
      out.reasoning_effort = effortForBudget(body.thinking.budget_tokens);
    } else if (body.thinking?.type === "adaptive" || (effort && body.thinking?.type !== "disabled")) {
      out.reasoning_effort = effort === "max" || effort === "xhigh" ? "high" : (effort ?? "medium");
    }
  }
  if (body.metadata?.user_id) out.user = body.metadata.user_id;
  if (target.stream) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }
  return out;
}

export const OPENAI_STOP_REASON: Record<string, string> = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  function_call: "tool_use",
  content_filter: "refusal",
};

/** An Anthropic message from an OpenAI-format completion (the pivot), usage from normalised counts. */
export function openAIToAnthropicMessage(
  completion: Json,
  meta: { id: string; model: string; tokens: TokenCounts; cost?: number; thinking: boolean },
): Json {
  const choice = (completion.choices as Json[] | undefined)?.[0] ?? {};
  const msg = (choice.message as OpenAIMessage | undefined) ?? { role: "assistant" };
  const content: Block[] = [];
  if (meta.thinking) {
    const signed = (msg.reasoning_details ?? []).filter((d) => d.type === "reasoning.text" && d.text);
    if (signed.length > 0) for (const d of signed) content.push({ type: "thinking", thinking: d.text!, signature: d.signature ?? "" });
    else if (msg.reasoning) content.push({ type: "thinking", thinking: msg.reasoning, signature: "" });
  }
  const text = openAIText(msg.content);
  if (text !== "") content.push({ type: "text", text });
  for (const call of msg.tool_calls ?? []) {
    content.push({ type: "tool_use", id: call.id ?? "", name: call.function?.name ?? "", input: parseArguments(call.function?.arguments) });
  }
  const usage = anthropicUsageFromTokens(meta.tokens);
  if (meta.cost !== undefined) usage.cost = meta.cost;
  return {
    id: meta.id,
    type: "message",
    role: "assistant",
    model: meta.model,
    content,
    stop_reason: OPENAI_STOP_REASON[(choice.finish_reason as string) ?? "stop"] ?? "end_turn",
    stop_sequence: null,
    usage,
  };
}
