import type { ProviderInfo } from "../catalog/types";
import { envVar, type Env } from "../env";
import { anthropicAdapter } from "./anthropic";
import { geminiAdapter } from "./gemini";
import { mockAdapter } from "./mock";
import { openAICompatible } from "./openai-compatible";
import type { ProviderAdapter, ResolvedProvider } from "./types";

const ADAPTERS: ProviderAdapter[] = [
  openAICompatible("openai", "https://api.openai.com/v1", { responses: true }),
  anthropicAdapter,
  geminiAdapter,
  openAICompatible("groq", "https://api.groq.com/openai/v1"),
  openAICompatible("mistral", "https://api.mistral.ai/v1"),
  openAICompatible("deepseek", "https://api.deepseek.com/v1"),
  openAICompatible("xai", "https://api.x.ai/v1"),
  openAICompatible("together", "https://api.together.xyz/v1"),
  openAICompatible("fireworks", "https://api.fireworks.ai/inference/v1"),
  openAICompatible("openrouter", "https://openrouter.ai/api/v1", { responses: true }),
  mockAdapter,
];

const builtIn = new Map(ADAPTERS.map((a) => [a.id, a]));
/** Adapters of the gateway config's providers, one per catalog entry: a new config brings new entries. */
const custom = new WeakMap<ProviderInfo, ProviderAdapter>();

/** The adapter of a catalog provider: a built-in one, or an OpenAI-compatible one for a custom provider. */
export function adapterFor(provider: ProviderInfo): ProviderAdapter | undefined {
  if (!provider.custom) return builtIn.get(provider.id);
  let adapter = custom.get(provider);
  if (!adapter) {
    const { key_var, responses } = provider.custom;
    adapter = { ...openAICompatible(provider.id, provider.default_base_url, { responses }), keyVar: key_var };
    custom.set(provider, adapter);
  }
  return adapter;
}

function mockEnabled(env: Env): boolean {
  const v = envVar(env, "MOCK_PROVIDER");
  return v === "on" || v === "true" || v === "1";
}

/**
 * The adapter with its key and base URL, or the reason it cannot be used. A provider is usable when its key
 * is set or its base URL is overridden (a local proxy or test double may need no key).
 */
export function resolveProvider(env: Env, provider: ProviderInfo): ResolvedProvider | { unavailable: string } {
  const adapter = adapterFor(provider);
  if (!adapter) return { unavailable: `no adapter for provider ${provider.id}` };
  if (adapter === mockAdapter) {
    return mockEnabled(env)
      ? { adapter, baseUrl: adapter.defaultBaseUrl, apiKey: undefined }
      : { unavailable: "the mock provider is off (MOCK_PROVIDER)" };
  }
  const apiKey = envVar(env, adapter.keyVar);
  const baseOverride = envVar(env, adapter.baseUrlVar);
  if (!apiKey && !baseOverride) return { unavailable: `provider ${provider.id} is not configured (${adapter.keyVar} unset)` };
  return { adapter, baseUrl: baseOverride ?? adapter.defaultBaseUrl, apiKey };
}

/** The API key of every provider of `providers` (built in and custom) this deployment has set. */
export function configuredKeys(env: Env, providers: readonly ProviderInfo[]): string[] {
  const keys: string[] = [];
  for (const adapter of [...builtIn.values(), ...providers.filter((p) => p.custom).map(adapterFor)]) {
    const key = adapter && envVar(env, adapter.keyVar);
    if (key) keys.push(key);
  }
  return keys;
}
