/** Wire formats a provider can speak. */
export type WireFormat = "openai" | "anthropic" | "gemini";

/**
 * Prices in US dollars per token (per request for `request`), as decimal strings,
 * exactly as OpenRouter publishes them. A price the entry does not list falls back:
 * input_cache_read / input_cache_write → prompt, internal_reasoning → completion, request → 0. A model
 * without `web_search` is never sent a web search.
 */
export interface ModelPricing {
  prompt: string;
  completion: string;
  input_cache_read?: string;
  input_cache_write?: string;
  internal_reasoning?: string;
  request?: string;
  /** Per web search the provider runs (Anthropic's web search tool), as OpenRouter lists it. */
  web_search?: string;
}

export interface ModelCapabilities {
  tools: boolean;
  vision: boolean;
  json_mode: boolean;
  reasoning: boolean;
}

export interface DataPolicy {
  /** The provider may train on prompts sent through the API. */
  training: boolean;
  /** Days prompts are retained (abuse monitoring etc.); null when unknown. */
  retention_days: number | null;
  /** Zero data retention is available / in force for this endpoint. */
  zdr: boolean;
  /** Regions the endpoint processes data in, e.g. ["us"], ["eu"]. Empty: unspecified. */
  regions: string[];
}

/**
 * How a provider continues a trailing assistant message (the answer so far, when a stream died mid-answer):
 * - none: it would start a new turn, so it cannot continue an answer;
 * - assistant: a trailing assistant message is continued as is (Anthropic; llama.cpp, vLLM with
 *   `continue_final_message`, most self-hosted servers);
 * - prefix: the message must carry `"prefix": true` (Mistral, DeepSeek).
 */
export type Prefill = "none" | "assistant" | "prefix";

export interface ProviderInfo {
  id: string;
  name: string;
  format: WireFormat;
  /** The provider's default base URL, as its own SDK means it. */
  default_base_url: string;
  data_policy: DataPolicy;
  /** Public page the catalog's prices were read from. */
  price_page: string;
  /** How it continues a trailing assistant message; absent: none. */
  prefill?: Prefill;
  /** A provider from the gateway config (OpenAI-compatible, at default_base_url); absent: a built-in one. */
  custom?: CustomProvider;
}

/** What the providers' registry needs to serve a provider the gateway config added. */
export interface CustomProvider {
  /** The secret (env var) holding its API key. */
  key_var: string;
  /** It serves the Responses API at <base_url>/responses. */
  responses: boolean;
}

/** What a model produces: chat completions (the default) or embeddings (served only by /v1/embeddings). */
export type ModelKind = "chat" | "embedding";

export interface CatalogModel {
  /** `provider/model`, as OpenRouter names it, e.g. "openai/gpt-4o-mini". */
  id: string;
  /** Absent: a chat model. */
  kind?: ModelKind;
  provider: string;
  /** The model name sent upstream. */
  upstream_id: string;
  name: string;
  context_length: number;
  max_output: number;
  pricing: ModelPricing;
  capabilities: ModelCapabilities;
  /** ISO date the prices were taken from the provider's public price page. */
  prices_as_of: string;
}
