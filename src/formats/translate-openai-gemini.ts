import {
  newToolCallId,
  openAIText,
  parseArguments,
  parseDataUrl,
  reasoningBudget,
  type Json,
  type OpenAIChatBody,
  type OpenAIMessage,
} from "./translate-common";

/*
 * OpenAI chat format in (the pivot; Anthropic ingress arrives here translated), Gemini generateContent
 * upstream: the request, and the (non-streamed) answer back. Streams: streaming/translate-gemini-to-openai.ts.
 */

type Part = Json;

/**
 * Gemini 3 wants the thought signature it gave with a function call back on that call in later turns. Calls
 * that reach us from an OpenAI-format history no longer carry it; Google documents this value for exactly
 * that case (histories built elsewhere).
 */
export const SKIP_THOUGHT_SIGNATURE = "skip_thought_signature_validator";

const EXTENSION_MIME: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  heic: "image/heic",
  pdf: "application/pdf",
};

function mediaPart(url: string): Part {
  const data = parseDataUrl(url);
  if (data) return { inlineData: { mimeType: data.mediaType, data: data.data } };
  const ext = /\.([a-z0-9]+)(?:[?#].*)?$/i.exec(url)?.[1]?.toLowerCase() ?? "";
  return { fileData: { mimeType: EXTENSION_MIME[ext] ?? "image/jpeg", fileUri: url } };
}

function userParts(content: unknown): Part[] {
  if (typeof content === "string") return content === "" ? [] : [{ text: content }];
  if (!Array.isArray(content)) return [];
  const out: Part[] = [];
  for (const p of content as Json[]) {
    if (p?.type === "text" && typeof p.text === "string" && p.text !== "") out.push({ text: p.text });
    else if (p?.type === "image_url") {
      const iu = p.image_url as { url?: string } | string | undefined;
      const url = typeof iu === "string" ? iu : iu?.url;
      if (url) out.push(mediaPart(url));
    } else if (p?.type === "file") {
      const f = p.file as { file_data?: string } | undefined;
      if (f?.file_data) out.push(mediaPart(f.file_data));
    } else if (p?.type === "input_audio") {
      const a = p.input_audio as { data?: string; format?: string } | undefined;
      if (a?.data) out.push({ inlineData: { mimeType: `audio/${a.format ?? "wav"}`, data: a.data } });
    }
  }
  return out;
}

function convertMessages(messages: OpenAIMessage[]): { system: Part[]; contents: { role: string; parts: Part[] }[] } {
  const system: Part[] = [];
  const contents: { role: string; parts: Part[] }[] = [];
  const toolNames = new Map<string, string>();
  const push = (role: "user" | "model", parts: Part[]) => {
    if (parts.length === 0) return;
    const last = contents.at(-1);
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  for (const m of messages) {
    if (m.role === "system" || m.role === "developer") {
      const text = openAIText(m.content);
      if (text !== "") system.push({ text });
    } else if (m.role === "user") push("user", userParts(m.content));
    else if (m.role === "assistant") {
      const parts: Part[] = [];
      const text = openAIText(m.content);
      if (text !== "") parts.push({ text });
      (m.tool_calls ?? []).forEach((call, i) => {
        const name = call.function?.name ?? "";
        if (call.id) toolNames.set(call.id, name);
        const part: Part = { functionCall: { name, args: parseArguments(call.function?.arguments) } };
        if (i === 0) part.thoughtSignature = SKIP_THOUGHT_SIGNATURE;
        parts.push(part);
      });
      push("model", parts);
    } else if (m.role === "tool") {
      const name = toolNames.get(m.tool_call_id ?? "") ?? m.name ?? "tool";
      const text = openAIText(m.content);
      let response: Json;
      try {
        const v = JSON.parse(text) as unknown;
        response = v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : { result: v };
      } catch {
        response = { result: text };
      }
      push("user", [{ functionResponse: { name, response } }]);
    }
  }
  return { system, contents };
}

function toolConfig(body: OpenAIChatBody): Json | undefined {
  const c = body.tool_choice;
  if (c === "auto") return { functionCallingConfig: { mode: "AUTO" } };
  if (c === "none") return { functionCallingConfig: { mode: "NONE" } };
  if (c === "required") return { functionCallingConfig: { mode: "ANY" } };
  if (c && typeof c === "object" && c.function?.name) return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [c.function.name] } };
  return undefined;
}

export function openAIToGeminiRequest(body: OpenAIChatBody, target: { maxOutput: number }): Json {
  const { system, contents } = convertMessages(body.messages);
  const out: Json = { contents };
  if (system.length > 0) out.systemInstruction = { parts: system };
  const gen: Json = {};
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  if (typeof maxTokens === "number") gen.maxOutputTokens = maxTokens;
  if (typeof body.temperature === "number") gen.temperature = body.temperature;
  if (typeof body.top_p === "number") gen.topP = body.top_p;
  if (typeof body.top_k === "number") gen.topK = body.top_k;
  if (typeof body.seed === "number") gen.seed = body.seed;
  if (typeof body.presence_penalty === "number") gen.presencePenalty = body.presence_penalty;
  if (typeof body.frequency_penalty === "number") gen.frequencyPenalty = body.frequency_penalty;
  if (body.stop) gen.stopSequences = Array.isArray(body.stop) ? body.stop : [body.stop];
  const rf = body.response_format;
  if (rf?.type === "json_object" || rf?.type === "json_schema") {
    gen.responseMimeType = "application/json";
    if (rf.type === "json_schema" && rf.json_schema?.schema) gen.responseJsonSchema = rf.json_schema.schema;
  }
  const budget = reasoningBudget(body, maxTokens ?? target.maxOutput);
  if (budget !== null) gen.thinkingConfig = { thinkingBudget: budget, includeThoughts: body.reasoning?.exclude !== true };
  if (Object.keys(gen).length > 0) out.generationConfig = gen;
  const tools = (body.tools ?? []).filter((t) => t.function?.name);
  if (tools.length > 0) {
    out.tools = [
      {
        functionDeclarations: tools.map((t) => ({
          name: t.function!.name,
          ...(t.function!.description ? { description: t.function!.description } : {}),
          ...(t.function!.parameters ? { parametersJsonSchema: t.function!.parameters } : {}),
        })),
      },
    ];
    const tc = toolConfig(body);
    if (tc) out.toolConfig = tc;
  }
  return out;
}

const GEMINI_FINISH: Record<string, string> = {
  STOP: "stop",
  MAX_TOKENS: "length",
  SAFETY: "content_filter",
  RECITATION: "content_filter",
  BLOCKLIST: "content_filter",
  PROHIBITED_CONTENT: "content_filter",
  SPII: "content_filter",
  IMAGE_SAFETY: "content_filter",
  LANGUAGE: "content_filter",
  MALFORMED_FUNCTION_CALL: "stop",
  UNEXPECTED_TOOL_CALL: "stop",
  OTHER: "stop",
};

export interface GeminiCandidatePart {
  text?: string;
  thought?: boolean;
  functionCall?: { name?: string; args?: Json; id?: string };
}

export interface GeminiResponse {
  candidates?: { content?: { parts?: GeminiCandidatePart[] }; finishReason?: string }[];
  promptFeedback?: { blockReason?: string };
  usageMetadata?: unknown;
}

/** The finish reason of a Gemini answer in OpenAI's terms (a function call makes it tool_calls). */
export function geminiFinishReason(reason: string | undefined, sawToolCall: boolean, blocked: boolean): string | null {
  if (blocked) return "content_filter";
  if (!reason) return null;
  const mapped = GEMINI_FINISH[reason] ?? "stop";
  return mapped === "stop" && sawToolCall ? "tool_calls" : mapped;
}

/** The assistant message and finish reason of a Gemini answer, in the OpenAI (OpenRouter) shape. */
export function geminiToOpenAIChoice(resp: GeminiResponse): Json {
  const candidate = resp.candidates?.[0];
  let text = "";
  let reasoning = "";
  const toolCalls: Json[] = [];
  for (const p of candidate?.content?.parts ?? []) {
    if (typeof p.text === "string") {
      if (p.thought) reasoning += p.text;
      else text += p.text;
    } else if (p.functionCall) {
      toolCalls.push({
        id: p.functionCall.id ?? newToolCallId(),
        type: "function",
        function: { name: p.functionCall.name ?? "", arguments: JSON.stringify(p.functionCall.args ?? {}) },
      });
    }
  }
  const message: Json = { role: "assistant", content: text === "" && toolCalls.length > 0 ? null : text, refusal: null };
  if (reasoning !== "") message.reasoning = reasoning;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const finish = geminiFinishReason(candidate?.finishReason ?? "STOP", toolCalls.length > 0, resp.promptFeedback?.blockReason !== undefined);
  return { index: 0, message, finish_reason: finish, logprobs: null };
}
