import * as z from "zod";

/**
 * The OpenAI chat request, checked as far as the gateway depends on it; other fields pass through to the
 * provider untouched, so new OpenAI parameters work without a gateway release.
 */
/**
 * A content part or block, of either format: its `text`, where it has one, is a string (providers and the
 * gateway's own token estimates read it as one). A tool result's blocks are checked the same way.
 */
export const ContentPart = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string(), text: z.string().optional() })), z.null()]).optional(),
});

const ChatMessage = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: z.union([z.string(), z.array(ContentPart), z.null()]).optional(),
});

/** OpenRouter's provider routing preferences. */
export const ProviderPreferences = z.looseObject({
  order: z.array(z.string()).optional(),
  only: z.array(z.string()).optional(),
  ignore: z.array(z.string()).optional(),
  allow_fallbacks: z.boolean().optional(),
  require_parameters: z.boolean().optional(),
  data_collection: z.enum(["allow", "deny"]).optional(),
  zdr: z.boolean().optional(),
  sort: z.enum(["price", "throughput", "latency"]).optional(),
  max_price: z
    .looseObject({ prompt: z.union([z.number(), z.string()]).optional(), completion: z.union([z.number(), z.string()]).optional() })
    .optional(),
});

export const ChatRequest = z
  .looseObject({
    model: z.string().min(1).max(256).optional(),
    models: z.array(z.string().min(1).max(256)).min(1).max(16).optional(),
    messages: z.array(ChatMessage).min(1, "at least one message is required"),
    stream: z.boolean().optional(),
    stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
    max_tokens: z.number().int().positive().nullable().optional(),
    max_completion_tokens: z.number().int().positive().nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    n: z.number().int().min(1).max(1, "n > 1 is not supported").nullable().optional(),
    user: z.string().max(256).optional(),
    provider: ProviderPreferences.optional(),
  })
  .refine((r) => r.model !== undefined || r.models !== undefined, { message: "model is required", path: ["model"] });

export type ChatRequest = z.output<typeof ChatRequest>;

