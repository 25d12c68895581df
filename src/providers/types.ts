import type { WireFormat } from "../catalog/types";

/**
 * A provider family, written mostly as data: where its API lives, how it authenticates and which wire
 * format it speaks. Translation between formats lives in streaming/ and providers/translate*.
 */
export interface ProviderAdapter {
  id: string;
  format: WireFormat;
  /** Secret holding the API key, e.g. OPENAI_API_KEY. */
  keyVar: string;
  /** Var overriding the base URL, e.g. OPENAI_BASE_URL. */
  baseUrlVar: string;
  defaultBaseUrl: string;
  /** The URL of a chat call, given the base URL as the provider's own SDK means it. */
  chatUrl(baseUrl: string, upstreamModel: string, stream: boolean): string;
  authHeaders(apiKey: string): Record<string, string>;
  /** Where the provider serves OpenAI-format embeddings (`POST /v1/embeddings`), if it does. */
  embeddings?: {
    url(baseUrl: string): string;
    /** When that endpoint authenticates otherwise than chat calls. */
    authHeaders?(apiKey: string): Record<string, string>;
  };
  /**
   * Where the provider serves OpenAI's Responses API (`POST /v1/responses`) itself, if it does: a Responses
   * request planned on it is passed through there rather than translated to chat.
   */
  responses?: { url(baseUrl: string): string };
  /** Extra headers every call carries (e.g. anthropic-version). */
  staticHeaders?: Record<string, string>;
  /** An in-process upstream (the offline mock); otherwise the global fetch. */
  fetch?: (request: Request) => Promise<Response>;
}

/** An adapter with its configuration read from the environment. */
export interface ResolvedProvider {
  adapter: ProviderAdapter;
  baseUrl: string;
  apiKey: string | undefined;
}
