import type { ProviderAdapter } from "./types";

/** The shared adapter of every OpenAI-compatible provider: Bearer auth, `<base>/chat/completions`. */
export function openAICompatible(id: string, defaultBaseUrl: string, envPrefix = id.toUpperCase()): ProviderAdapter {
  return {
    id,
    format: "openai",
    keyVar: `${envPrefix}_API_KEY`,
    baseUrlVar: `${envPrefix}_BASE_URL`,
    defaultBaseUrl,
    chatUrl: (base) => `${trimSlash(base)}/chat/completions`,
    authHeaders: (key) => ({ authorization: `Bearer ${key}` }),
  };
}

export function trimSlash(url: string): string {
  return url.endsWith("/") ? url.slice(0, -1) : url;
}
