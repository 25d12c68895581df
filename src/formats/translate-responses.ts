import { GatewayError } from "../core/errors";
import { usdNumber, type TokenCounts } from "../ledger/cost";
import type { Json, OpenAIChatBody, OpenAIMessage, OpenAITool, OpenAIToolCall, ReasoningDetail } from "./translate-common";

/*
 * The OpenAI Responses format, stateless, read as the chat format (the gateway's pivot) and written back from
 * it. A request becomes a chat body that every provider format is already translated from; an answer (a chat
 * choice, whatever format the provider spoke) becomes a Response's output items. What cannot be carried:
 * docs/formats.md, "Responses".
 */

/** Hosted tools a provider bills beyond token prices: refused as premium features, never served here. */
const HOSTED_TOOLS = /^(web_search|file_search|code_interpreter|computer_use|image_generation|mcp|local_shell|shell|apply_patch)/;

/** A reasoning item's `encrypted_content` when it carries thinking signatures: `swy1.` + base64url(JSON). */
const CARRIED_REASONING = "swy1.";

function bad(message: string, param: string): never {
  throw new GatewayError("bad_request", message, { details: { param } });
}

function b64urlEncode(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function b64urlDecode(s: string): string | null {
  try {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}

/** Reasoning details (thinking signatures) as a reasoning item's opaque `encrypted_content`. */
function carryReasoning(details: ReasoningDetail[] | undefined): string | undefined {
  if (!details || details.length === 0) return undefined;
  return CARRIED_REASONING + b64urlEncode(JSON.stringify(details));
}

function carriedReasoning(encrypted: unknown): ReasoningDetail[] | null {
  if (typeof encrypted !== "string" || !encrypted.startsWith(CARRIED_REASONING)) return null;
  const text = b64urlDecode(encrypted.slice(CARRIED_REASONING.length));
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? (v as ReasoningDetail[]) : null;
  } catch {
    return null;
  }
}

/** One input content part as a chat content part. */
function chatPart(p: Json, param: string): Json {
  switch (p.type) {
    case "input_text":
    case "output_text":
      return { type: "text", text: p.text };
    case "refusal":
      return { type: "text", text: p.refusal };
    case "input_image": {
      if (typeof p.image_url !== "string") bad(`${param}: input_image needs image_url (a URL or data URL); file_id needs the provider's file storage, which a stateless gateway does not keep`, param);
      return { type: "image_url", image_url: { url: p.image_url, ...(p.detail ? { detail: p.detail } : {}) } };
    }
    default:
      return bad(`${param}: content part type ${JSON.stringify(p.type)} is not supported on /v1/responses (input_text, input_image, output_text, refusal are)`, param);
  }
}

function chatContent(content: unknown, param: string): OpenAIMessage["content"] {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return bad(`${param}: content must be a string or an array of parts`, param);
  return content.map((p, i) => chatPart((p ?? {}) as Json, `${param}[${i}]`));
}

function outputText(output: unknown): string {
  if (typeof output === "string") return output;
  if (Array.isArray(output)) return output.map((p) => (typeof (p as Json)?.text === "string" ? ((p as Json).text as string) : "")).join("");
  return JSON.stringify(output ?? "");
}

/** Responses `input` (plus `instructions`) → chat messages. Consecutive function calls join one assistant turn. */
function chatMessages(instructions: unknown, input: unknown): OpenAIMessage[] {
  const out: OpenAIMessage[] = [];
  if (typeof instructions === "string" && instructions !== "") out.push({ role: "system", content: instructions });
  if (typeof input === "string") {
    out.push({ role: "user", content: input });
    return out;
  }
  let pendingReasoning: { text: string; details: ReasoningDetail[] } | null = null;
  /** The assistant turn that function calls and reasoning of the same turn attach to. */
  const assistantTurn = (): OpenAIMessage => {
    const last = out.at(-1);
    if (last?.role === "assistant") return last;
    const m: OpenAIMessage = { role: "assistant", content: null };
    out.push(m);
    return m;
  };
  const attachReasoning = (m: OpenAIMessage) => {
    if (!pendingReasoning) return;
    m.reasoning = (m.reasoning ?? "") + pendingReasoning.text;
    if (pendingReasoning.details.length > 0) m.reasoning_details = [...(m.reasoning_details ?? []), ...pendingReasoning.details];
    pendingReasoning = null;
  };
  (input as Json[]).forEach((raw, i) => {
    const item = (raw ?? {}) as Json;
    const param = `input[${i}]`;
    const type = item.type ?? "message";
    if (type === "message") {
      const role = item.role as string;
      if (!["user", "assistant", "system", "developer"].includes(role)) bad(`${param}.role must be user, assistant, system or developer`, `${param}.role`);
      const content = chatContent(item.content, `${param}.content`);
      if (role === "assistant") {
        const last = out.at(-1);
        // An assistant message after reasoning or function calls of its turn joins them, as chat has it.
        const m: OpenAIMessage = last?.role === "assistant" && (last.content === null || last.content === undefined) && !last.tool_calls ? last : { role: "assistant", content: null };
        if (m !== last) out.push(m);
        m.content = content;
        attachReasoning(m);
      } else out.push({ role, content });
    } else if (type === "function_call") {
      if (typeof item.call_id !== "string" || typeof item.name !== "string") bad(`${param}: a function_call needs call_id and name`, param);
      const m = assistantTurn();
      attachReasoning(m);
      (m.tool_calls ??= []).push({ id: item.call_id, type: "function", function: { name: item.name, arguments: typeof item.arguments === "string" ? item.arguments : "{}" } });
    } else if (type === "function_call_output") {
      if (typeof item.call_id !== "string") bad(`${param}: a function_call_output needs call_id`, `${param}.call_id`);
      out.push({ role: "tool", tool_call_id: item.call_id, content: outputText(item.output) });
    } else if (type === "reasoning") {
      const summary = Array.isArray(item.summary) ? (item.summary as Json[]).map((s) => (typeof s?.text === "string" ? s.text : "")).join("") : "";
      // Only thinking this gateway returned can be sent back (its signature); other providers' encrypted reasoning cannot.
      pendingReasoning = { text: summary, details: carriedReasoning(item.encrypted_content) ?? [] };
    } else if (type === "item_reference") {
      bad(`${param}: item_reference needs stored responses; the gateway is stateless: send the item itself`, param);
    } else {
      bad(`${param}: input item type ${JSON.stringify(type)} is not supported on /v1/responses`, `${param}.type`);
    }
  });
  return out;
}

function chatTools(tools: unknown): OpenAITool[] | undefined {
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  return (tools as Json[]).map((t, i) => {
    const type = String(t?.type);
    if (type === "function") {
      return { type: "function", function: { name: t.name as string, ...(t.description != null ? { description: t.description as string } : {}), ...(t.parameters != null ? { parameters: t.parameters as Json } : {}), ...(typeof t.strict === "boolean" ? { strict: t.strict } : {}) } };
    }
    if (HOSTED_TOOLS.test(type)) {
      throw new GatewayError("premium_feature", `tools[${i}] (${type}) is a hosted tool the provider runs and bills beyond token prices; /v1/responses serves function tools only`, { details: { param: `tools[${i}]` } });
    }
    return bad(`tools[${i}]: tool type ${JSON.stringify(type)} is not supported on /v1/responses; function tools are`, `tools[${i}].type`);
  });
}

function chatToolChoice(choice: unknown): OpenAIChatBody["tool_choice"] {
  if (choice === undefined || choice === null) return undefined;
  if (choice === "auto" || choice === "none" || choice === "required") return choice;
  const c = choice as Json;
  if (c.type === "function" && typeof c.name === "string") return { type: "function", function: { name: c.name } };
  return bad(`tool_choice: only "auto", "none", "required" or {"type":"function","name":...} are supported`, "tool_choice");
}

/** `text.format` → chat `response_format`. */
function chatResponseFormat(text: unknown): OpenAIChatBody["response_format"] {
  const f = (text as Json | undefined)?.format as Json | undefined;
  if (!f || f.type === "text") return undefined;
  if (f.type === "json_object") return { type: "json_object" };
  if (f.type === "json_schema") {
    return { type: "json_schema", json_schema: { name: f.name as string, schema: f.schema as Json, ...(typeof f.strict === "boolean" ? { strict: f.strict } : {}), ...(f.description ? { description: f.description } : {}) } as never };
  }
  return bad(`text.format.type ${JSON.stringify(f.type)} is not supported (text, json_object, json_schema are)`, "text.format.type");
}

/** Fields a chat body takes under the same name and meaning. */
const SAME_FIELDS = ["temperature", "top_p", "user", "parallel_tool_calls", "service_tier", "prompt_cache_key", "safety_identifier", "models", "provider"] as const;

/**
 * A Responses request body (already checked by its schema) as a chat body. `metadata` stays with the gateway
 * (echoed in the Response, never sent upstream: Anthropic takes none).
 */
export function responsesToChat(body: Json): OpenAIChatBody {
  const chat: OpenAIChatBody = { model: body.model, messages: chatMessages(body.instructions, body.input) };
  for (const f of SAME_FIELDS) if (body[f] !== undefined && body[f] !== null) (chat as Json)[f] = body[f];
  const tools = chatTools(body.tools);
  if (tools) chat.tools = tools;
  const toolChoice = chatToolChoice(body.tool_choice);
  if (toolChoice !== undefined) chat.tool_choice = toolChoice;
  if (typeof body.max_output_tokens === "number") chat.max_completion_tokens = body.max_output_tokens;
  const effort = (body.reasoning as Json | undefined)?.effort;
  if (typeof effort === "string") chat.reasoning_effort = effort;
  const format = chatResponseFormat(body.text);
  if (format) chat.response_format = format;
  if (body.stream === true) chat.stream = true;
  return chat;
}

// --- answers ---

export type ResponseStatus = "completed" | "incomplete" | "failed" | "in_progress";

/** A chat finish reason as a Response's status and incomplete_details. */
export function responseStatus(finish: string | null | undefined): { status: ResponseStatus; incomplete_details: Json | null } {
  if (finish === "length") return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  if (finish === "content_filter") return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
  return { status: "completed", incomplete_details: null };
}

/** The Response `usage` for normalised counts, with the cost the client's budgets were charged. */
export function responsesUsage(t: TokenCounts, cost: bigint): Json {
  return {
    input_tokens: t.prompt_tokens,
    input_tokens_details: { cached_tokens: t.cached_tokens },
    output_tokens: t.completion_tokens,
    output_tokens_details: { reasoning_tokens: t.reasoning_tokens },
    total_tokens: t.prompt_tokens + t.completion_tokens,
    cost: usdNumber(cost),
  };
}

/** Item ids, derived from the request id so that one answer's ids are stable and distinct. */
export function itemId(prefix: "msg" | "fc" | "rs", requestId: string, n: number): string {
  return `${prefix}_${requestId.replace(/^gen-/, "")}_${n}`;
}

export function reasoningItem(id: string, text: string, details: ReasoningDetail[] | undefined): Json {
  const encrypted = carryReasoning(details);
  return { type: "reasoning", id, summary: text !== "" ? [{ type: "summary_text", text }] : [], ...(encrypted ? { encrypted_content: encrypted } : {}) };
}

export function messageItem(id: string, text: string, status: string): Json {
  return { type: "message", id, status, role: "assistant", content: [{ type: "output_text", text, annotations: [], logprobs: [] }] };
}

export function functionCallItem(id: string, call: OpenAIToolCall, status: string): Json {
  return { type: "function_call", id, call_id: call.id ?? id, name: call.function?.name ?? "", arguments: call.function?.arguments ?? "", status };
}

/** A chat choice's message as Response output items: reasoning, then the text, then the function calls. */
export function outputItems(message: OpenAIMessage | undefined, requestId: string): Json[] {
  const items: Json[] = [];
  if (!message) return items;
  let n = 0;
  if ((message.reasoning ?? "") !== "" || (message.reasoning_details?.length ?? 0) > 0) {
    items.push(reasoningItem(itemId("rs", requestId, n++), message.reasoning ?? "", message.reasoning_details));
  }
  const text = typeof message.content === "string" ? message.content : Array.isArray(message.content) ? (message.content as Json[]).map((p) => (typeof p?.text === "string" ? p.text : "")).join("") : "";
  const refusal = (message as { refusal?: unknown }).refusal;
  if (typeof refusal === "string" && refusal !== "") {
    items.push({ type: "message", id: itemId("msg", requestId, n++), status: "completed", role: "assistant", content: [{ type: "refusal", refusal }] });
  } else if (text !== "") items.push(messageItem(itemId("msg", requestId, n++), text, "completed"));
  for (const call of message.tool_calls ?? []) items.push(functionCallItem(itemId("fc", requestId, n++), call, "completed"));
  return items;
}

/** Fields of the request a Response echoes, as OpenAI's does. */
export function echoedFields(body: Json): Json {
  return {
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: body.reasoning ?? null,
    store: false,
    temperature: body.temperature ?? null,
    text: body.text ?? { format: { type: "text" } },
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
    top_p: body.top_p ?? null,
    truncation: "disabled",
    user: body.user ?? null,
  };
}
