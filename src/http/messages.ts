import type { Context, MiddlewareHandler } from "hono";
import * as z from "zod";
import type { Catalog } from "../catalog";
import { cachedCatalog, loadCatalog } from "../catalog/load";
import { estimatePromptTokens } from "../streaming/estimate";
import type { HonoEnv } from "./app";
import { parseWith, readJsonBody } from "./body";
import { GatewayError } from "../core/errors";
import { proxy } from "./proxy";
import { ContentPart, ProviderPreferences } from "./schemas";

/**
 * The Anthropic Messages request, checked as far as the gateway depends on it; other fields reach an
 * Anthropic upstream untouched. OpenRouter's routing fields (`models`, `provider`) are accepted here too.
 */
const MessagesRequest = z
  .looseObject({
    model: z.string().min(1).max(256).optional(),
    models: z.array(z.string().min(1).max(256)).min(1).max(16).optional(),
    messages: z.array(z.looseObject({ role: z.enum(["user", "assistant"]), content: z.union([z.string(), z.array(ContentPart)]) })).min(1, "at least one message is required"),
    system: z.union([z.string(), z.array(ContentPart)]).optional(),
    max_tokens: z.number().int().positive().optional(),
    stream: z.boolean().optional(),
    temperature: z.number().min(0).max(1).optional(),
    top_p: z.number().min(0).max(1).optional(),
    top_k: z.number().int().min(0).optional(),
    stop_sequences: z.array(z.string()).optional(),
    tools: z.array(z.looseObject({ name: z.string().min(1) })).optional(),
    metadata: z.looseObject({ user_id: z.string().max(256).nullable().optional() }).optional(),
    provider: ProviderPreferences.optional(),
  })
  .refine((r) => r.model !== undefined || r.models !== undefined, { message: "model is required", path: ["model"] });

/** Anthropic's error `type` for a status, so the Anthropic SDK raises its own error classes. */
function anthropicErrorType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 402) return "billing_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit_error";
  if (status === 408 || status === 504) return "timeout_error";
  if (status === 503 || status === 529) return "overloaded_error";
  if (status >= 500) return "api_error";
  return "invalid_request_error";
}

/** Renders this route's errors as Anthropic does: `{"type":"error","error":{"type","message"},"request_id"}`. */
export const anthropicErrors: MiddlewareHandler<HonoEnv> = async (c, next) => {
  c.set("renderError", (err: GatewayError, requestId: string) =>
    new Response(
      JSON.stringify({ type: "error", error: { type: anthropicErrorType(err.status), message: err.message, code: err.code }, request_id: requestId }),
      { status: err.status, headers: { "content-type": "application/json", "x-request-id": requestId, "request-id": requestId, ...err.headers } },
    ),
  );
  await next();
};

/**
 * Anthropic's own model names (what Claude clients send, e.g. `claude-haiku-4-5-20251001`) as catalog ids:
 * the Anthropic model whose upstream name it is. Other names are left to the planner.
 */
export function anthropicModelId(catalog: Catalog, name: string): string {
  if (name.includes("/")) return name;
  const m = catalog.models.find((x) => x.provider === "anthropic" && x.upstream_id === name);
  return m ? m.id : name;
}

/** POST /v1/messages: the Anthropic Messages format in. */
export async function messages(c: Context<HonoEnv>): Promise<Response> {
  const { json } = await readJsonBody(c);
  const req = parseWith(MessagesRequest, json);
  const body = json as Record<string, unknown>;
  const catalog = cachedCatalog() ?? (await loadCatalog(c.env));
  return proxy(c, {
    ingress: "anthropic",
    body,
    models: (req.model !== undefined ? [req.model, ...(req.models ?? [])] : req.models!).map((m) => anthropicModelId(catalog, m)),
    stream: req.stream === true,
    user: req.metadata?.user_id ?? null,
    maxTokens: req.max_tokens ?? null,
    provider: req.provider,
    messages: req.messages,
    estimatePromptTokens: () => estimatePromptTokens(req.messages, req.system),
    anthropicBeta: c.req.header("anthropic-beta"),
  });
}
