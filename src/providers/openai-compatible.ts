import type { ProviderAdapter } from "./types";

/** What an OpenAI-compatible provider serves beyond chat and embeddings. */
export interface OpenAICompatibleOptions {
  /** It serves the Responses API at `<base>/responses`. */
  responses?: boolean;
}

/**
 * The shared adapter of every OpenAI-compatible provider: Bearer auth, `<base>/chat/completions`, and
 * `<base>/embeddings` for the catalog's embedding models (a provider without them has none in the catalog;
 * a config model declared `kind: embedding` on one that serves none gets the provider's own 404).
 */
export function openAICompatible(id: string, defaultBaseUrl: string, options: OpenAICompatibleOptions = {}, envPrefix = id.toUpperCase()): ProviderAdapter {
  return {
    id,
    format: "openai",
    keyVar: `${envPrefix}_API_KEY`,
    baseUrlVar: `${envPrefix}_BASE_URL`,
    defaultBaseUrl,
    chatUrl: (base) => `${trimSlash(base)}/chat/completions`,
    authHeaders: (key) => ({ authorization: `Bearer ${key}` }),
    embeddings: { url: (base) => `${trimSlash(base)}/embeddings` },
    ...(options.responses ? { responses: { url: (base: string) => `${trimSlash(base)}/responses` } } : {}),
  };
}

export function trimSlash(url: string): string {
  return url.endsWith("/") ? url.slice(0, -1) : url;
}
