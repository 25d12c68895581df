import type { Context } from "hono";
import * as z from "zod";
import { responsesToChat } from "../formats/translate-responses";
import { estimatePromptTokens } from "../streaming/estimate";
import type { HonoEnv } from "./app";
import { parseWith, readJsonBody } from "./body";
import { GatewayError } from "../core/errors";
import { proxy } from "./proxy";
import { ProviderPreferences } from "./schemas";

const InputItem = z.looseObject({ type: z.string().optional(), role: z.string().optional() });

/**
 * The OpenAI Responses request, checked as far as the gateway depends on it. The gateway is stateless: the
 * client sends the whole conversation in `input` each time.
 */
const ResponsesRequest = z
  .looseObject({
    model: z.string().min(1).max(256).optional(),
    models: z.array(z.string().min(1).max(256)).min(1).max(16).optional(),
    input: z.union([z.string(), z.array(InputItem).min(1, "at least one input item is required")]),
    instructions: z.string().nullable().optional(),
    tools: z.array(z.looseObject({ type: z.string(), name: z.string().min(1).optional() })).optional(),
    tool_choice: z.union([z.string(), z.looseObject({ type: z.string() })]).nullable().optional(),
    max_output_tokens: z.number().int().positive().nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    reasoning: z.looseObject({ effort: z.string().nullable().optional() }).nullable().optional(),
    text: z.looseObject({ format: z.looseObject({ type: z.string() }).optional() }).nullable().optional(),
    metadata: z.record(z.string().max(64), z.string().max(512)).nullable().optional(),
    user: z.string().max(256).optional(),
    stream: z.boolean().nullable().optional(),
    store: z.boolean().nullable().optional(),
    previous_response_id: z.string().nullable().optional(),
    conversation: z.unknown().optional(),
    background: z.boolean().nullable().optional(),
    provider: ProviderPreferences.optional(),
  })
  .refine((r) => r.model !== undefined || r.models !== undefined, { message: "model is required", path: ["model"] });

function stateless(field: string, why: string): never {
  throw new GatewayError("bad_request", `${field}: ${why}; the gateway is stateless and keeps no responses: send the whole conversation in input`, {
    details: { param: field },
  });
}

/** POST /v1/responses: the OpenAI Responses format in, routed as a chat request and answered as a Response. */
export async function responses(c: Context<HonoEnv>): Promise<Response> {
  const { json } = await readJsonBody(c);
  const req = parseWith(ResponsesRequest, json);
  if (req.previous_response_id != null) stateless("previous_response_id", "continuing a stored response is not possible");
  if (req.store === true) stateless("store", "store: true asks for the response to be kept");
  if (req.conversation != null) stateless("conversation", "conversations are stored state");
  if (req.background === true) stateless("background", "background responses are stored and polled");
  for (const t of req.tools ?? []) if (t.type === "function" && t.name === undefined) throw new GatewayError("bad_request", "tools: a function tool needs a name", { details: { param: "tools" } });
  const body = json as Record<string, unknown>;
  const chat = responsesToChat(body);
  return proxy(c, {
    ingress: "openai",
    respondAs: "responses",
    responsesBody: body,
    body: chat,
    models: req.model !== undefined ? [req.model, ...(req.models ?? [])] : req.models!,
    stream: req.stream === true,
    user: req.user ?? null,
    maxTokens: req.max_output_tokens ?? null,
    provider: req.provider,
    messages: chat.messages,
    estimatePromptTokens: () => estimatePromptTokens(chat.messages),
  });
}
