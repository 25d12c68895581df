import { trimSlash } from "./openai-compatible";
import type { ProviderAdapter } from "./types";

/**
 * Google's Gemini API (generateContent). The base URL includes the API version, as Google's SDKs mean it:
 * `https://generativelanguage.googleapis.com/v1beta`. The model is part of the path, not the body.
 */
export const geminiAdapter: ProviderAdapter = {
  id: "gemini",
  format: "gemini",
  keyVar: "GEMINI_API_KEY",
  baseUrlVar: "GEMINI_BASE_URL",
  defaultBaseUrl: "https://generativelanguage.googleapis.com/v1beta",
  chatUrl: (base, model, stream) =>
    `${trimSlash(base)}/models/${encodeURIComponent(model)}:${stream ? "streamGenerateContent?alt=sse" : "generateContent"}`,
  authHeaders: (key) => ({ "x-goog-api-key": key }),
  // Embeddings through Gemini's OpenAI-compatible endpoint: the OpenAI body and answer as they are, usage
  // included (the native batchEmbedContents reports no token counts to bill by).
  embeddings: {
    url: (base) => `${trimSlash(base)}/openai/embeddings`,
    authHeaders: (key) => ({ authorization: `Bearer ${key}` }),
  },
};
