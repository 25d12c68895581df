import type { Context } from "hono";
import { estimatePromptTokens } from "../streaming/estimate";
import type { HonoEnv } from "./app";
import { parseWith, readJsonBody } from "./body";
import { proxy } from "./proxy";
import { ChatRequest } from "./schemas";

/** POST /v1/chat/completions: the OpenAI format (plus OpenRouter's routing fields) in. */
export async function chatCompletions(c: Context<HonoEnv>): Promise<Response> {
  const { json } = await readJsonBody(c);
  const req = parseWith(ChatRequest, json);
  const body = json as Record<string, unknown>;
  return proxy(c, {
    ingress: "openai",
    body,
    models: req.model !== undefined ? [req.model, ...(req.models ?? [])] : req.models!,
    stream: req.stream === true,
    user: req.user ?? null,
    maxTokens: req.max_completion_tokens ?? req.max_tokens ?? null,
    provider: req.provider,
    messages: req.messages,
    estimatePromptTokens: () => estimatePromptTokens(req.messages),
  });
}
