import type { WireFormat } from "../catalog/types";
import type { TokenCounts } from "../ledger/cost";

/**
 * A chat request as the gateway routes it, whatever format it arrived in. `body` is the client's own
 * body in the ingress format; adapters and translators build each upstream body from it.
 */
export interface GatewayRequest {
  ingress: Exclude<WireFormat, "gemini">;
  /** The client's format when it differs from the body's: a Responses request is routed as a chat body. */
  respondAs?: "responses";
  /** The client's own Responses body (respondAs "responses"): the answer echoes its fields. */
  responsesBody?: Record<string, unknown>;
  body: Record<string, unknown>;
  /** Requested models in order of preference: the model, then `models[]` fallbacks. */
  models: string[];
  stream: boolean;
  /** The end user (OpenAI `user`, Anthropic `metadata.user_id`), for usage and per-user budgets. */
  user: string | null;
  /** The output cap the client asked for, if any. */
  maxTokens: number | null;
  /** OpenRouter's `provider` routing preferences, as sent. */
  provider: Record<string, unknown> | undefined;
  /** A prompt token estimate, for reservations and for streams cut before usage arrived. */
  estimatePromptTokens(): number;
  /** Text of messages, for estimating completion tokens of the answer where no usage came. */
  messages: readonly { content?: unknown }[];
  /** The client's `anthropic-beta` header (Anthropic format in): passed to Anthropic-format providers. */
  anthropicBeta?: string;
  /** The most web searches the request may run (its web search tools' max_uses), once a policy allows them. */
  webSearches?: number;
}

export type { TokenCounts };
