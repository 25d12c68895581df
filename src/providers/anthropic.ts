import { trimSlash } from "./openai-compatible";
import type { ProviderAdapter } from "./types";

/** Anthropic's Messages API. The base URL is what the Anthropic SDK means by it: `/v1/messages` is appended. */
export const anthropicAdapter: ProviderAdapter = {
  id: "anthropic",
  format: "anthropic",
  keyVar: "ANTHROPIC_API_KEY",
  baseUrlVar: "ANTHROPIC_BASE_URL",
  defaultBaseUrl: "https://api.anthropic.com",
  chatUrl: (base) => `${trimSlash(base)}/v1/messages`,
  authHeaders: (key) => ({ "x-api-key": key }),
  staticHeaders: { "anthropic-version": "2023-06-01" },
};
