import {
  ANTHROPIC_REASONING_FORMAT,
  parseArguments,
  parseDataUrl,
  reasoningBudget,
  type Json,
  type OpenAIChatBody,
  type OpenAIMessage,
  type OpenAIToolCall,
  type ReasoningDetail,
} from "./translate-common";

/*
 * OpenAI chat format in, Anthropic Messages upstream: the request, and the (non-streamed) answer back.
 * Streams are translated in streaming/translate-anthropic-to-openai.ts.
 */

type Block = Json & { type: string };

export interface AnthropicTarget {
  upstreamModel: string;
  /** The model's max output: Anthropic requires max_tokens, OpenAI does not. */
  maxOutput: number;
  stream: boolean;
}

const JSON_OBJECT_INSTRUCTION = "Respond with a single valid JSON object and nothing else.";

function imageBlock(url: string): Block {
  const data = parseDataUrl(url);
  return data
    ? { type: "image", source: { type: "base64", media_type: data.mediaType, data: data.data } }
    : { type: "image", source: { type: "url", url } };
}

/** OpenAI content (string or parts) → Anthropic blocks. Parts Anthropic cannot take are dropped. */
function contentBlocks(content: unknown): Block[] {
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  if (!Array.isArray(content)) return [];
  const out: Block[] = [];
  for (const part of content as Json[]) {
    if (!part || typeof part !== "object") continue;
    const cache = part.cache_control ? { cache_control: part.cache_control } : {};
    if ((part.type === "text" || part.type === "refusal") && typeof (part.text ?? part.refusal) === "string") {
      const text = (part.text ?? part.refusal) as string;
      if (text !== "") out.push({ type: "text", text, ...cache });
    } else if (part.type === "image_url") {
      const iu = part.image_url as { url?: string } | string | undefined;
      const url = typeof iu === "string" ? iu : iu?.url;
      if (url) out.push({ ...imageBlock(url), ...cache });
    } else if (part.type === "file") {
      const f = part.file as { file_data?: string } | undefined;
      const data = f?.file_data ? parseDataUrl(f.file_data) : null;
      if (data?.mediaType === "application/pdf") {
        out.push({ type: "document", source: { type: "base64", media_type: data.mediaType, data: data.data }, ...cache });
      }
    }
  }
  return out;
}

function thinkingBlocks(details: ReasoningDetail[] | undefined): Block[] {
  const out: Block[] = [];
  for (const d of details ?? []) {
    if (d.type === "reasoning.text" && d.signature) out.push({ type: "thinking", thinking: d.text ?? "", signature: d.signature });
    else if (d.type === "reasoning.encrypted" && d.data) out.push({ type: "redacted_thinking", data: d.data });
  }
  return out;
}

function toolUseBlock(call: OpenAIToolCall): Block {
  return { type: "tool_use", id: call.id ?? "", name: call.function?.name ?? "", input: parseArguments(call.function?.arguments) };
}

function toolResultBlock(m: OpenAIMessage): Block {
  const blocks = contentBlocks(m.content).filter((b) => b.type === "text" || b.type === "image");
  const content = typeof m.content === "string" ? m.content : blocks;
  return { type: "tool_result", tool_use_id: m.tool_call_id ?? "", content };
}

/** System prompt and alternating turns. Tool results of one turn are gathered in one user message. */
function convertMessages(messages: OpenAIMessage[]): { system: Block[]; turns: { role: string; content: Block[] }[] } {
  const system: Block[] = [];
  const turns: { role: string; content: Block[] }[] = [];
  const push = (role: "user" | "assistant", blocks: Block[]) => {
    if (blocks.length === 0) return;
    const last = turns.at(-1);
    if (last && last.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  for (const m of messages) {
    if (m.role === "system" || m.role === "developer") system.push(...contentBlocks(m.content).filter((b) => b.type === "text"));
    else if (m.role === "user") push("user", contentBlocks(m.content));
    else if (m.role === "tool") push("user", [toolResultBlock(m)]);
    else if (m.role === "assistant") {
      push("assistant", [
        ...thinkingBlocks(m.reasoning_details),
        ...contentBlocks(m.content).filter((b) => b.type === "text"),
        ...(m.tool_calls ?? []).map(toolUseBlock),
      ]);
    }
  }
  return { system, turns };
}

function toolChoice(body: OpenAIChatBody): Json | undefined {
  const c = body.tool_choice;
  let out: Json | undefined;
  if (c === "auto") out = { type: "auto" };
  else if (c === "none") out = { type: "none" };
  else if (c === "required") out = { type: "any" };
  else if (c && typeof c === "object" && c.function?.name) out = { type: "tool", name: c.function.name };
  if (body.parallel_tool_calls === false && out?.type !== "none") out = { ...(out ?? { type: "auto" }), disable_parallel_tool_use: true };
  return out;
}

export function openAIToAnthropicRequest(body: OpenAIChatBody, target: AnthropicTarget): Json {
  const { system, turns } = convertMessages(body.messages);
  const out: Json = { model: target.upstreamModel };
  let maxTokens = body.max_completion_tokens ?? body.max_tokens ?? target.maxOutput;

  if (body.response_format?.type === "json_schema" && body.response_format.json_schema?.schema) {
    out.output_config = { format: { type: "json_schema", schema: body.response_format.json_schema.schema } };
  } else if (body.response_format?.type === "json_object") {
    system.push({ type: "text", text: JSON_OBJECT_INSTRUCTION });
  }
  if (turns.length === 0 && system.length > 0) turns.push({ role: "user", content: system.splice(0) });
  if (system.length > 0) {
    out.system = system.some((b) => b.cache_control) ? system : system.map((b) => b.text as string).join("\n\n");
  }
  out.messages = turns;

  const tools = (body.tools ?? []).filter((t) => t.function?.name);
  if (tools.length > 0) {
    out.tools = tools.map((t) => ({
      name: t.function!.name,
      ...(t.function!.description ? { description: t.function!.description } : {}),
      input_schema: t.function!.parameters ?? { type: "object", properties: {} },
    }));
    const choice = toolChoice(body);
    if (choice) out.tool_choice = choice;
  }

  // Extended thinking: a budget below max_tokens; Anthropic refuses it with a forced tool choice.
  const forcedTool = out.tool_choice && ["any", "tool"].includes((out.tool_choice as Json).type as string);
  const budget = forcedTool ? null : reasoningBudget(body, maxTokens);
  if (budget !== null) {
    if (budget >= maxTokens) maxTokens = Math.min(target.maxOutput, budget + maxTokens);
    if (budget < maxTokens) out.thinking = { type: "enabled", budget_tokens: budget };
  }
  out.max_tokens = maxTokens;
  const thinking = out.thinking !== undefined;
  if (typeof body.temperature === "number" && !thinking) out.temperature = Math.min(1, body.temperature);
  if (typeof body.top_p === "number" && (!thinking || body.top_p >= 0.95)) out.top_p = body.top_p;
  if (typeof body.top_k === "number" && !thinking) out.top_k = body.top_k;
  if (body.stop) out.stop_sequences = (Array.isArray(body.stop) ? body.stop : [body.stop]).filter((s) => s.trim() !== "");
  if (typeof body.user === "string") out.metadata = { user_id: body.user };
  if (target.stream) out.stream = true;
  return out;
}

export const ANTHROPIC_FINISH: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

export interface AnthropicMessage {
  id?: string;
  content?: Block[];
  stop_reason?: string | null;
  usage?: unknown;
}

/** The assistant message and finish reason of an Anthropic answer, in the OpenAI (OpenRouter) shape. */
export function anthropicMessageToOpenAIChoice(msg: AnthropicMessage): Json {
  let text = "";
  let reasoning = "";
  const details: ReasoningDetail[] = [];
  const toolCalls: Json[] = [];
  for (const b of msg.content ?? []) {
    if (b.type === "text") text += b.text as string;
    else if (b.type === "thinking") {
      reasoning += b.thinking as string;
      details.push({ type: "reasoning.text", text: b.thinking as string, signature: (b.signature as string) ?? null, format: ANTHROPIC_REASONING_FORMAT, index: details.length });
    } else if (b.type === "redacted_thinking") {
      details.push({ type: "reasoning.encrypted", data: b.data as string, format: ANTHROPIC_REASONING_FORMAT, index: details.length });
    } else if (b.type === "tool_use") {
      toolCalls.push({ id: b.id, type: "function", function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } });
    }
  }
  const message: Json = { role: "assistant", content: text === "" && toolCalls.length > 0 ? null : text, refusal: null };
  if (reasoning !== "" || details.length > 0) {
    message.reasoning = reasoning;
    message.reasoning_details = details;
  }
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return { index: 0, message, finish_reason: ANTHROPIC_FINISH[msg.stop_reason ?? "end_turn"] ?? "stop", logprobs: null };
}
