import type { CatalogModel, ProviderInfo } from "./types";

/*
 * The built-in catalog: providers, models and prices. Pure data.
 *
 * Prices are dollars per token as decimal strings (OpenRouter's convention), every one an exact multiple of
 * 1e-12 so the ledger can hold them as integer picodollars. Each entry carries the date its prices were read
 * (`prices_as_of`, one date per provider, below) and the `$ per million` figures they were converted from.
 *
 * What the price shape cannot say, and what the catalog does instead:
 * - Long-prompt tiers (OpenAI GPT-5.x/6.x over 272k prompt tokens, Gemini Pro and Grok over 200k): the base
 *   tier is listed, so very long prompts are under-priced by up to 2× on those models.
 * - DeepSeek's peak / off-peak rates: the peak rate is listed (off-peak is half), so budgets err high.
 * - Anthropic's 1-hour and OpenAI's 12-hour cache writes: the short-lived write price is listed.
 * - Models withdrawn before the price date are left out (e.g. Claude Sonnet 4 / Opus 4 / Opus 4.1 / Haiku 3.5,
 *   Gemini 2.0 Flash and 2.5 Pro / Flash, OpenAI o3 / o4-mini / GPT-5, DeepSeek's deepseek-chat /
 *   deepseek-reasoner, Grok 3 Mini and Grok 4 0709).
 */

/** Read from platform.claude.com's pricing and model pages (Claude Sonnet 5.5 cache reads cut on 2026-10-07). */
const ANTHROPIC_PRICES_AS_OF = "2026-10-24";
/** Read from OpenAI's pricing page as it stood after GPT-6.1 Terra's launch (2026-10-26). */
const OPENAI_PRICES_AS_OF = "2026-10-27";
/** DeepSeek's Models & Pricing page (deepseek-flash is DeepSeek-V4.1-Flash-1017); peak rates. */
const DEEPSEEK_PRICES_AS_OF = "2026-10-27";
/** OpenRouter's models API (https://openrouter.ai/api/v1/models) of that day, which relays these providers' own prices. */
const GEMINI_PRICES_AS_OF = "2026-08-01";
const MISTRAL_PRICES_AS_OF = "2026-08-01";
const XAI_PRICES_AS_OF = "2026-08-01";
const OPENROUTER_PRICES_AS_OF = "2026-08-01";
/** The providers' price pages as transcribed in LiteLLM's model price list of that day. */
const GROQ_PRICES_AS_OF = "2026-07-24";
const TOGETHER_PRICES_AS_OF = "2026-07-24";
const FIREWORKS_PRICES_AS_OF = "2026-07-24";
/** The mock's prices are made up, non-zero so that cost arithmetic is exercised end to end. */
const MOCK_PRICES_AS_OF = "2026-11-01";

export const BUILTIN_PROVIDERS: readonly ProviderInfo[] = [
  {
    id: "openai",
    name: "OpenAI",
    format: "openai",
    default_base_url: "https://api.openai.com/v1",
    // No training on API data; abuse-monitoring logs kept up to 30 days; ZDR only for approved organizations.
    data_policy: { training: false, retention_days: 30, zdr: false, regions: ["us"] },
    price_page: "https://developers.openai.com/api/docs/pricing",
  },
  {
    id: "anthropic",
    name: "Anthropic",
    format: "anthropic",
    // The Anthropic SDK appends /v1/messages.
    default_base_url: "https://api.anthropic.com",
    // A trailing assistant message is continued natively (not with extended thinking on: see routing/continue.ts).
    prefill: "assistant",
    // Commercial terms: no training; 30-day retention by default; ZDR by separate agreement.
    data_policy: { training: false, retention_days: 30, zdr: false, regions: [] },
    price_page: "https://platform.claude.com/docs/en/about-claude/pricing",
  },
  {
    id: "gemini",
    name: "Google Gemini",
    format: "gemini",
    default_base_url: "https://generativelanguage.googleapis.com/v1beta",
    // Paid tier: no training; prompts logged 55 days for abuse monitoring. (The free tier trains: not used here.)
    data_policy: { training: false, retention_days: 55, zdr: false, regions: [] },
    price_page: "https://ai.google.dev/gemini-api/docs/pricing",
  },
  {
    id: "groq",
    name: "Groq",
    format: "openai",
    default_base_url: "https://api.groq.com/openai/v1",
    // No training; inference data not retained by default, but kept up to 30 days when needed for reliability or
    // abuse investigation unless ZDR is switched on in Data Controls.
    data_policy: { training: false, retention_days: 30, zdr: false, regions: [] },
    price_page: "https://groq.com/pricing",
  },
  {
    id: "mistral",
    name: "Mistral AI",
    format: "openai",
    default_base_url: "https://api.mistral.ai/v1",
    prefill: "prefix",
    // Paid API: no training; 30-day abuse-monitoring retention; ZDR on request; hosted in the EU.
    data_policy: { training: false, retention_days: 30, zdr: false, regions: ["eu"] },
    price_page: "https://mistral.ai/pricing",
  },
  {
    id: "deepseek",
    name: "DeepSeek",
    format: "openai",
    default_base_url: "https://api.deepseek.com/v1",
    prefill: "prefix",
    // Its privacy policy allows using inputs to improve its services and names no retention period; data is
    // processed and stored in the PRC.
    data_policy: { training: true, retention_days: null, zdr: false, regions: ["cn"] },
    price_page: "https://api-docs.deepseek.com/quick_start/pricing",
  },
  {
    id: "xai",
    name: "xAI",
    format: "openai",
    default_base_url: "https://api.x.ai/v1",
    // Business API terms: no training; requests kept 30 days; ZDR for enterprise agreements only.
    data_policy: { training: false, retention_days: 30, zdr: false, regions: [] },
    price_page: "https://docs.x.ai/docs/models",
  },
  {
    id: "together",
    name: "Together AI",
    format: "openai",
    default_base_url: "https://api.together.xyz/v1",
    // Training is opt-in (off by default), but prompts and responses are stored until deleted unless the
    // organization turns on ZDR; open models run in Together's North American data centers.
    data_policy: { training: false, retention_days: null, zdr: false, regions: ["us"] },
    price_page: "https://www.together.ai/pricing",
  },
  {
    id: "fireworks",
    name: "Fireworks AI",
    format: "openai",
    default_base_url: "https://api.fireworks.ai/inference/v1",
    // Zero data retention by default for open models: prompts and generations are never written to storage.
    data_policy: { training: false, retention_days: 0, zdr: true, regions: [] },
    price_page: "https://docs.fireworks.ai/serverless/pricing",
  },
  {
    id: "openrouter",
    name: "OpenRouter",
    format: "openai",
    default_base_url: "https://openrouter.ai/api/v1",
    // OpenRouter forwards to whichever upstream its account settings allow, some of which train on or keep
    // prompts: assume the worst unless an admin config overrides this.
    data_policy: { training: true, retention_days: null, zdr: false, regions: [] },
    price_page: "https://openrouter.ai/models",
  },
  {
    id: "mock",
    name: "Switchyard mock",
    format: "openai",
    default_base_url: "mock://",
    data_policy: { training: false, retention_days: 0, zdr: true, regions: [] },
    price_page: "mock://",
  },
];

/** An embedding model takes text and returns vectors: no tools, images, JSON mode or reasoning. */
const NO_CAPABILITIES = { tools: false, vision: false, json_mode: false, reasoning: false } as const;

export const BUILTIN_MODELS: readonly CatalogModel[] = [
  // openai (GPT-6.x: prompts over 272k tokens cost 2× input and 1.5× output; the base tier is listed)
  {
    id: "openai/gpt-6.1-sol", provider: "openai",
    upstream_id: "gpt-6.1-sol", name: "OpenAI: GPT-6.1 Sol",
    context_length: 1_050_000, max_output: 128_000,
    // $ per million: in 2 / out 10 / cache read 0.10 / cache write 2.50
    pricing: { prompt: "0.000002", completion: "0.00001", input_cache_read: "0.0000001", input_cache_write: "0.0000025" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: OPENAI_PRICES_AS_OF,
  },
  {
    id: "openai/gpt-6.1-terra", provider: "openai",
    upstream_id: "gpt-6.1-terra", name: "OpenAI: GPT-6.1 Terra",
    context_length: 1_050_000, max_output: 128_000,
    // $ per million: in 1 / out 5 / cache read 0.05 / cache write 1.25
    pricing: { prompt: "0.000001", completion: "0.000005", input_cache_read: "0.00000005", input_cache_write: "0.00000125" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: OPENAI_PRICES_AS_OF,
  },
  {
    id: "openai/gpt-6-luna", provider: "openai",
    upstream_id: "gpt-6-luna", name: "OpenAI: GPT-6 Luna",
    context_length: 1_050_000, max_output: 128_000,
    // $ per million: in 0.10 / out 0.50 / cache read 0.01 / cache write 0.125
    pricing: { prompt: "0.0000001", completion: "0.0000005", input_cache_read: "0.00000001", input_cache_write: "0.000000125" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: OPENAI_PRICES_AS_OF,
  },
  // Deprecated: OpenAI shuts these four down on 2027-01-14 (its deprecations page). Kept until then.
  {
    id: "openai/gpt-4.1", provider: "openai",
    upstream_id: "gpt-4.1", name: "OpenAI: GPT-4.1",
    context_length: 1_047_576, max_output: 32_768,
    // $ per million: in 2 / out 8 / cache read 0.50
    pricing: { prompt: "0.000002", completion: "0.000008", input_cache_read: "0.0000005" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: false },
    prices_as_of: OPENAI_PRICES_AS_OF,
  },
  {
    id: "openai/gpt-4.1-mini", provider: "openai",
    upstream_id: "gpt-4.1-mini", name: "OpenAI: GPT-4.1 Mini",
    context_length: 1_047_576, max_output: 32_768,
    // $ per million: in 0.40 / out 1.60 / cache read 0.10
    pricing: { prompt: "0.0000004", completion: "0.0000016", input_cache_read: "0.0000001" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: false },
    prices_as_of: OPENAI_PRICES_AS_OF,
  },
  {
    id: "openai/gpt-4o", provider: "openai",
    upstream_id: "gpt-4o", name: "OpenAI: GPT-4o",
    context_length: 128_000, max_output: 16_384,
    // $ per million: in 2.50 / out 10 / cache read 1.25
    pricing: { prompt: "0.0000025", completion: "0.00001", input_cache_read: "0.00000125" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: false },
    prices_as_of: OPENAI_PRICES_AS_OF,
  },
  {
    id: "openai/gpt-4o-mini", provider: "openai",
    upstream_id: "gpt-4o-mini", name: "OpenAI: GPT-4o-mini",
    context_length: 128_000, max_output: 16_384,
    // $ per million: in 0.15 / out 0.60 / cache read 0.075
    pricing: { prompt: "0.00000015", completion: "0.0000006", input_cache_read: "0.000000075" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: false },
    prices_as_of: OPENAI_PRICES_AS_OF,
  },
  // anthropic
  {
    id: "anthropic/claude-opus-5.5", provider: "anthropic",
    upstream_id: "claude-opus-5-5", name: "Anthropic: Claude Opus 5.5",
    context_length: 1_000_000, max_output: 128_000,
    // $ per million: in 4 / out 20 / cache read 0.20 / cache write 5
    pricing: { prompt: "0.000004", completion: "0.00002", input_cache_read: "0.0000002", input_cache_write: "0.000005", web_search: "0.01" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: ANTHROPIC_PRICES_AS_OF,
  },
  {
    id: "anthropic/claude-sonnet-5.5", provider: "anthropic",
    upstream_id: "claude-sonnet-5-5", name: "Anthropic: Claude Sonnet 5.5",
    context_length: 1_000_000, max_output: 128_000,
    // $ per million: in 2 / out 10 / cache read 0.10 / cache write 2.50
    pricing: { prompt: "0.000002", completion: "0.00001", input_cache_read: "0.0000001", input_cache_write: "0.0000025", web_search: "0.01" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: ANTHROPIC_PRICES_AS_OF,
  },
  {
    id: "anthropic/claude-opus-5", provider: "anthropic",
    upstream_id: "claude-opus-5", name: "Anthropic: Claude Opus 5",
    context_length: 1_000_000, max_output: 128_000,
    // $ per million: in 5 / out 25 / cache read 0.50 / cache write 6.25
    pricing: { prompt: "0.000005", completion: "0.000025", input_cache_read: "0.0000005", input_cache_write: "0.00000625", web_search: "0.01" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: ANTHROPIC_PRICES_AS_OF,
  },
  {
    id: "anthropic/claude-sonnet-5", provider: "anthropic",
    upstream_id: "claude-sonnet-5", name: "Anthropic: Claude Sonnet 5",
    context_length: 1_000_000, max_output: 128_000,
    // $ per million: in 2 / out 10 / cache read 0.20 / cache write 2.50
    pricing: { prompt: "0.000002", completion: "0.00001", input_cache_read: "0.0000002", input_cache_write: "0.0000025", web_search: "0.01" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: ANTHROPIC_PRICES_AS_OF,
  },
  {
    id: "anthropic/claude-haiku-4.5", provider: "anthropic",
    upstream_id: "claude-haiku-4-5-20251001", name: "Anthropic: Claude Haiku 4.5",
    context_length: 200_000, max_output: 64_000,
    // $ per million: in 1 / out 5 / cache read 0.10 / cache write 1.25
    pricing: { prompt: "0.000001", completion: "0.000005", input_cache_read: "0.0000001", input_cache_write: "0.00000125", web_search: "0.01" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: ANTHROPIC_PRICES_AS_OF,
  },
  // gemini
  // Gemini 3.1 Pro: prompts over 200k tokens cost 4 / 18 per million; the base tier is listed.
  {
    id: "gemini/gemini-3.1-pro-preview", provider: "gemini",
    upstream_id: "gemini-3.1-pro-preview", name: "Google: Gemini 3.1 Pro Preview",
    context_length: 1_048_576, max_output: 65_536,
    // $ per million: in 2 / out 12 / cache read 0.20
    pricing: { prompt: "0.000002", completion: "0.000012", input_cache_read: "0.0000002" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: GEMINI_PRICES_AS_OF,
  },
  {
    id: "gemini/gemini-3.6-flash", provider: "gemini",
    upstream_id: "gemini-3.6-flash", name: "Google: Gemini 3.6 Flash",
    context_length: 1_048_576, max_output: 65_536,
    // $ per million: in 1.50 / out 7.50 / cache read 0.15
    pricing: { prompt: "0.0000015", completion: "0.0000075", input_cache_read: "0.00000015" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: GEMINI_PRICES_AS_OF,
  },
  {
    id: "gemini/gemini-3.5-flash", provider: "gemini",
    upstream_id: "gemini-3.5-flash", name: "Google: Gemini 3.5 Flash",
    context_length: 1_048_576, max_output: 65_536,
    // $ per million: in 1.50 / out 9 / cache read 0.15
    pricing: { prompt: "0.0000015", completion: "0.000009", input_cache_read: "0.00000015" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: GEMINI_PRICES_AS_OF,
  },
  {
    id: "gemini/gemini-3.5-flash-lite", provider: "gemini",
    upstream_id: "gemini-3.5-flash-lite", name: "Google: Gemini 3.5 Flash Lite",
    context_length: 1_048_576, max_output: 65_536,
    // $ per million: in 0.30 / out 2.50 / cache read 0.03
    pricing: { prompt: "0.0000003", completion: "0.0000025", input_cache_read: "0.00000003" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: GEMINI_PRICES_AS_OF,
  },
  {
    id: "gemini/gemini-2.5-flash-lite", provider: "gemini",
    upstream_id: "gemini-2.5-flash-lite", name: "Google: Gemini 2.5 Flash Lite",
    context_length: 1_048_576, max_output: 65_535,
    // $ per million: in 0.10 / out 0.40 / cache read 0.01
    pricing: { prompt: "0.0000001", completion: "0.0000004", input_cache_read: "0.00000001" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: GEMINI_PRICES_AS_OF,
  },
  // groq
  {
    id: "groq/llama-3.1-8b-instant", provider: "groq",
    upstream_id: "llama-3.1-8b-instant", name: "Meta: Llama 3.1 8B Instant (Groq)",
    context_length: 131_072, max_output: 131_072,
    // $ per million: in 0.05 / out 0.08
    pricing: { prompt: "0.00000005", completion: "0.00000008" },
    capabilities: { tools: true, vision: false, json_mode: true, reasoning: false },
    prices_as_of: GROQ_PRICES_AS_OF,
  },
  {
    id: "groq/llama-3.3-70b-versatile", provider: "groq",
    upstream_id: "llama-3.3-70b-versatile", name: "Meta: Llama 3.3 70B Versatile (Groq)",
    context_length: 131_072, max_output: 32_768,
    // $ per million: in 0.59 / out 0.79
    pricing: { prompt: "0.00000059", completion: "0.00000079" },
    capabilities: { tools: true, vision: false, json_mode: true, reasoning: false },
    prices_as_of: GROQ_PRICES_AS_OF,
  },
  {
    id: "groq/openai/gpt-oss-120b", provider: "groq",
    upstream_id: "openai/gpt-oss-120b", name: "OpenAI: gpt-oss-120b (Groq)",
    context_length: 131_072, max_output: 65_536,
    // $ per million: in 0.15 / out 0.60 / cache read 0.075
    pricing: { prompt: "0.00000015", completion: "0.0000006", input_cache_read: "0.000000075" },
    capabilities: { tools: true, vision: false, json_mode: true, reasoning: true },
    prices_as_of: GROQ_PRICES_AS_OF,
  },
  {
    id: "groq/openai/gpt-oss-20b", provider: "groq",
    upstream_id: "openai/gpt-oss-20b", name: "OpenAI: gpt-oss-20b (Groq)",
    context_length: 131_072, max_output: 65_536,
    // $ per million: in 0.075 / out 0.30 / cache read 0.0375
    pricing: { prompt: "0.000000075", completion: "0.0000003", input_cache_read: "0.0000000375" },
    capabilities: { tools: true, vision: false, json_mode: true, reasoning: true },
    prices_as_of: GROQ_PRICES_AS_OF,
  },
  {
    id: "groq/qwen/qwen3-32b", provider: "groq",
    upstream_id: "qwen/qwen3-32b", name: "Qwen: Qwen3 32B (Groq)",
    context_length: 131_072, max_output: 40_960,
    // $ per million: in 0.29 / out 0.59
    pricing: { prompt: "0.00000029", completion: "0.00000059" },
    capabilities: { tools: true, vision: false, json_mode: true, reasoning: true },
    prices_as_of: GROQ_PRICES_AS_OF,
  },
  // mistral
  {
    id: "mistral/mistral-large-2512", provider: "mistral",
    upstream_id: "mistral-large-2512", name: "Mistral: Mistral Large 3",
    context_length: 262_144, max_output: 262_144,
    // $ per million: in 0.50 / out 1.50 / cache read 0.05
    pricing: { prompt: "0.0000005", completion: "0.0000015", input_cache_read: "0.00000005" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: false },
    prices_as_of: MISTRAL_PRICES_AS_OF,
  },
  {
    id: "mistral/mistral-medium-2604", provider: "mistral",
    upstream_id: "mistral-medium-2604", name: "Mistral: Mistral Medium 3.5",
    context_length: 262_144, max_output: 262_144,
    // $ per million: in 1.50 / out 7.50
    pricing: { prompt: "0.0000015", completion: "0.0000075" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: MISTRAL_PRICES_AS_OF,
  },
  {
    id: "mistral/mistral-small-2603", provider: "mistral",
    upstream_id: "mistral-small-2603", name: "Mistral: Mistral Small 4",
    context_length: 262_144, max_output: 262_144,
    // $ per million: in 0.15 / out 0.60 / cache read 0.015
    pricing: { prompt: "0.00000015", completion: "0.0000006", input_cache_read: "0.000000015" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: MISTRAL_PRICES_AS_OF,
  },
  {
    id: "mistral/codestral-2508", provider: "mistral",
    upstream_id: "codestral-2508", name: "Mistral: Codestral 2508",
    context_length: 256_000, max_output: 256_000,
    // $ per million: in 0.30 / out 0.90 / cache read 0.03
    pricing: { prompt: "0.0000003", completion: "0.0000009", input_cache_read: "0.00000003" },
    capabilities: { tools: true, vision: false, json_mode: true, reasoning: false },
    prices_as_of: MISTRAL_PRICES_AS_OF,
  },
  // deepseek
  {
    id: "deepseek/deepseek-flash", provider: "deepseek",
    upstream_id: "deepseek-flash", name: "DeepSeek: DeepSeek V4.1 Flash",
    context_length: 1_048_576, max_output: 384_000,
    // $ per million: in 0.30 / out 1.20 / cache read 0.006
    pricing: { prompt: "0.0000003", completion: "0.0000012", input_cache_read: "0.000000006" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: DEEPSEEK_PRICES_AS_OF,
  },
  {
    id: "deepseek/deepseek-v4-pro", provider: "deepseek",
    upstream_id: "deepseek-v4-pro", name: "DeepSeek: DeepSeek V4 Pro",
    context_length: 1_048_576, max_output: 384_000,
    // $ per million: in 1.32 / out 3.96 / cache read 0.044
    pricing: { prompt: "0.00000132", completion: "0.00000396", input_cache_read: "0.000000044" },
    capabilities: { tools: true, vision: false, json_mode: true, reasoning: true },
    prices_as_of: DEEPSEEK_PRICES_AS_OF,
  },
  // xai
  // All three: prompts over 200k tokens cost twice as much; the base tier is listed.
  {
    id: "xai/grok-4.5", provider: "xai",
    upstream_id: "grok-4.5", name: "xAI: Grok 4.5",
    context_length: 500_000, max_output: 500_000,
    // $ per million: in 2 / out 6 / cache read 0.30
    pricing: { prompt: "0.000002", completion: "0.000006", input_cache_read: "0.0000003" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: XAI_PRICES_AS_OF,
  },
  {
    id: "xai/grok-4.3", provider: "xai",
    upstream_id: "grok-4.3", name: "xAI: Grok 4.3",
    context_length: 1_000_000, max_output: 1_000_000,
    // $ per million: in 1.25 / out 2.50 / cache read 0.20
    pricing: { prompt: "0.00000125", completion: "0.0000025", input_cache_read: "0.0000002" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: XAI_PRICES_AS_OF,
  },
  {
    id: "xai/grok-build-0.1", provider: "xai",
    upstream_id: "grok-build-0.1", name: "xAI: Grok Build 0.1",
    context_length: 256_000, max_output: 256_000,
    // $ per million: in 1 / out 2 / cache read 0.20
    pricing: { prompt: "0.000001", completion: "0.000002", input_cache_read: "0.0000002" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: XAI_PRICES_AS_OF,
  },
  // together
  {
    id: "together/meta-llama/Llama-3.3-70B-Instruct-Turbo", provider: "together",
    upstream_id: "meta-llama/Llama-3.3-70B-Instruct-Turbo", name: "Meta: Llama 3.3 70B Instruct Turbo (Together)",
    context_length: 131_072, max_output: 131_072,
    // $ per million: in 0.88 / out 0.88
    pricing: { prompt: "0.00000088", completion: "0.00000088" },
    capabilities: { tools: true, vision: false, json_mode: true, reasoning: false },
    prices_as_of: TOGETHER_PRICES_AS_OF,
  },
  {
    id: "together/Qwen/Qwen3.5-397B-A17B", provider: "together",
    upstream_id: "Qwen/Qwen3.5-397B-A17B", name: "Qwen: Qwen3.5 397B A17B (Together)",
    context_length: 262_144, max_output: 262_144,
    // $ per million: in 0.60 / out 3.60
    pricing: { prompt: "0.0000006", completion: "0.0000036" },
    capabilities: { tools: true, vision: false, json_mode: true, reasoning: true },
    prices_as_of: TOGETHER_PRICES_AS_OF,
  },
  {
    id: "together/moonshotai/Kimi-K2.5", provider: "together",
    upstream_id: "moonshotai/Kimi-K2.5", name: "MoonshotAI: Kimi K2.5 (Together)",
    context_length: 256_000, max_output: 256_000,
    // $ per million: in 0.50 / out 2.80
    pricing: { prompt: "0.0000005", completion: "0.0000028" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: TOGETHER_PRICES_AS_OF,
  },
  {
    id: "together/deepseek-ai/DeepSeek-V3.1", provider: "together",
    upstream_id: "deepseek-ai/DeepSeek-V3.1", name: "DeepSeek: DeepSeek V3.1 (Together)",
    context_length: 128_000, max_output: 16_384,
    // $ per million: in 0.60 / out 1.70
    pricing: { prompt: "0.0000006", completion: "0.0000017" },
    capabilities: { tools: true, vision: false, json_mode: true, reasoning: true },
    prices_as_of: TOGETHER_PRICES_AS_OF,
  },
  {
    id: "together/openai/gpt-oss-120b", provider: "together",
    upstream_id: "openai/gpt-oss-120b", name: "OpenAI: gpt-oss-120b (Together)",
    context_length: 131_072, max_output: 131_072,
    // $ per million: in 0.15 / out 0.60
    pricing: { prompt: "0.00000015", completion: "0.0000006" },
    capabilities: { tools: true, vision: false, json_mode: true, reasoning: true },
    prices_as_of: TOGETHER_PRICES_AS_OF,
  },
  // fireworks
  {
    id: "fireworks/deepseek-v4-pro", provider: "fireworks",
    upstream_id: "accounts/fireworks/models/deepseek-v4-pro", name: "DeepSeek: DeepSeek V4 Pro (Fireworks)",
    context_length: 1_048_576, max_output: 384_000,
    // $ per million: in 1.74 / out 3.48 / cache read 0.145
    pricing: { prompt: "0.00000174", completion: "0.00000348", input_cache_read: "0.000000145" },
    capabilities: { tools: true, vision: false, json_mode: true, reasoning: true },
    prices_as_of: FIREWORKS_PRICES_AS_OF,
  },
  {
    id: "fireworks/kimi-k2p6", provider: "fireworks",
    upstream_id: "accounts/fireworks/models/kimi-k2p6", name: "MoonshotAI: Kimi K2.6 (Fireworks)",
    context_length: 262_144, max_output: 262_144,
    // $ per million: in 0.95 / out 4 / cache read 0.16
    pricing: { prompt: "0.00000095", completion: "0.000004", input_cache_read: "0.00000016" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: FIREWORKS_PRICES_AS_OF,
  },
  {
    id: "fireworks/qwen3p7-plus", provider: "fireworks",
    upstream_id: "accounts/fireworks/models/qwen3p7-plus", name: "Qwen: Qwen3.7 Plus (Fireworks)",
    context_length: 262_144, max_output: 65_536,
    // $ per million: in 0.40 / out 1.60 / cache read 0.08
    pricing: { prompt: "0.0000004", completion: "0.0000016", input_cache_read: "0.00000008" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: FIREWORKS_PRICES_AS_OF,
  },
  {
    id: "fireworks/gpt-oss-120b", provider: "fireworks",
    upstream_id: "accounts/fireworks/models/gpt-oss-120b", name: "OpenAI: gpt-oss-120b (Fireworks)",
    context_length: 131_072, max_output: 32_768,
    // $ per million: in 0.15 / out 0.60 / cache read 0.015
    pricing: { prompt: "0.00000015", completion: "0.0000006", input_cache_read: "0.000000015" },
    capabilities: { tools: true, vision: false, json_mode: true, reasoning: true },
    prices_as_of: FIREWORKS_PRICES_AS_OF,
  },
  // openrouter
  {
    id: "openrouter/anthropic/claude-sonnet-5", provider: "openrouter",
    upstream_id: "anthropic/claude-sonnet-5", name: "Anthropic: Claude Sonnet 5 (OpenRouter)",
    context_length: 1_000_000, max_output: 128_000,
    // $ per million: in 2 / out 10 / cache read 0.20 / cache write 2.50
    pricing: { prompt: "0.000002", completion: "0.00001", input_cache_read: "0.0000002", input_cache_write: "0.0000025" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: OPENROUTER_PRICES_AS_OF,
  },
  // GPT-5.5: prompts over 272k tokens cost 10 / 45 per million; the base tier is listed.
  {
    id: "openrouter/openai/gpt-5.5", provider: "openrouter",
    upstream_id: "openai/gpt-5.5", name: "OpenAI: GPT-5.5 (OpenRouter)",
    context_length: 1_050_000, max_output: 128_000,
    // $ per million: in 5 / out 30 / cache read 0.50
    pricing: { prompt: "0.000005", completion: "0.00003", input_cache_read: "0.0000005" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: OPENROUTER_PRICES_AS_OF,
  },
  {
    id: "openrouter/google/gemini-3.6-flash", provider: "openrouter",
    upstream_id: "google/gemini-3.6-flash", name: "Google: Gemini 3.6 Flash (OpenRouter)",
    context_length: 1_048_576, max_output: 65_536,
    // $ per million: in 1.50 / out 7.50 / cache read 0.15
    pricing: { prompt: "0.0000015", completion: "0.0000075", input_cache_read: "0.00000015" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: OPENROUTER_PRICES_AS_OF,
  },
  {
    id: "openrouter/deepseek/deepseek-v4-pro", provider: "openrouter",
    upstream_id: "deepseek/deepseek-v4-pro", name: "DeepSeek: DeepSeek V4 Pro (OpenRouter)",
    context_length: 1_048_576, max_output: 384_000,
    // $ per million: in 0.435 / out 0.87 / cache read 0.003625
    pricing: { prompt: "0.000000435", completion: "0.00000087", input_cache_read: "0.000000003625" },
    capabilities: { tools: true, vision: false, json_mode: true, reasoning: true },
    prices_as_of: OPENROUTER_PRICES_AS_OF,
  },
  {
    id: "openrouter/moonshotai/kimi-k2.6", provider: "openrouter",
    upstream_id: "moonshotai/kimi-k2.6", name: "MoonshotAI: Kimi K2.6 (OpenRouter)",
    context_length: 262_144, max_output: 262_144,
    // $ per million: in 0.60 / out 3.41 / cache read 0.20
    pricing: { prompt: "0.0000006", completion: "0.00000341", input_cache_read: "0.0000002" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: OPENROUTER_PRICES_AS_OF,
  },
  {
    id: "openrouter/meta-llama/llama-3.3-70b-instruct", provider: "openrouter",
    upstream_id: "meta-llama/llama-3.3-70b-instruct", name: "Meta: Llama 3.3 70B Instruct (OpenRouter)",
    context_length: 131_072, max_output: 128_000,
    // $ per million: in 0.13 / out 0.40
    pricing: { prompt: "0.00000013", completion: "0.0000004" },
    capabilities: { tools: true, vision: false, json_mode: true, reasoning: false },
    prices_as_of: OPENROUTER_PRICES_AS_OF,
  },
  // Embedding models (kind: "embedding"): served by /v1/embeddings only, priced per input token; nothing is
  // generated, so the completion price is 0. The context length is the most input tokens per input.
  {
    id: "openai/text-embedding-3-small", provider: "openai", kind: "embedding",
    upstream_id: "text-embedding-3-small", name: "OpenAI: Text Embedding 3 Small",
    context_length: 8_192, max_output: 0,
    // $ per million: in 0.02
    pricing: { prompt: "0.00000002", completion: "0" },
    capabilities: NO_CAPABILITIES,
    prices_as_of: OPENAI_PRICES_AS_OF,
  },
  {
    id: "openai/text-embedding-3-large", provider: "openai", kind: "embedding",
    upstream_id: "text-embedding-3-large", name: "OpenAI: Text Embedding 3 Large",
    context_length: 8_192, max_output: 0,
    // $ per million: in 0.13
    pricing: { prompt: "0.00000013", completion: "0" },
    capabilities: NO_CAPABILITIES,
    prices_as_of: OPENAI_PRICES_AS_OF,
  },
  {
    id: "gemini/gemini-embedding-001", provider: "gemini", kind: "embedding",
    upstream_id: "gemini-embedding-001", name: "Google: Gemini Embedding 001",
    context_length: 2_048, max_output: 0,
    // $ per million: in 0.15
    pricing: { prompt: "0.00000015", completion: "0" },
    capabilities: NO_CAPABILITIES,
    prices_as_of: GEMINI_PRICES_AS_OF,
  },
  {
    id: "mistral/mistral-embed", provider: "mistral", kind: "embedding",
    upstream_id: "mistral-embed", name: "Mistral: Mistral Embed",
    context_length: 8_192, max_output: 0,
    // $ per million: in 0.10
    pricing: { prompt: "0.0000001", completion: "0" },
    capabilities: NO_CAPABILITIES,
    prices_as_of: MISTRAL_PRICES_AS_OF,
  },
  {
    id: "together/BAAI/bge-large-en-v1.5", provider: "together", kind: "embedding",
    upstream_id: "BAAI/bge-large-en-v1.5", name: "BAAI: BGE Large EN v1.5 (Together)",
    context_length: 512, max_output: 0,
    // $ per million: in 0.02
    pricing: { prompt: "0.00000002", completion: "0" },
    capabilities: NO_CAPABILITIES,
    prices_as_of: TOGETHER_PRICES_AS_OF,
  },
  {
    id: "fireworks/nomic-embed-text-v1.5", provider: "fireworks", kind: "embedding",
    upstream_id: "nomic-ai/nomic-embed-text-v1.5", name: "Nomic: Nomic Embed Text v1.5 (Fireworks)",
    context_length: 8_192, max_output: 0,
    // $ per million: in 0.008
    pricing: { prompt: "0.000000008", completion: "0" },
    capabilities: NO_CAPABILITIES,
    prices_as_of: FIREWORKS_PRICES_AS_OF,
  },
  // mock
  {
    id: "mock/echo", provider: "mock",
    upstream_id: "echo", name: "Switchyard mock: echo",
    context_length: 131_072, max_output: 8_192,
    // $ per million: in 1 / out 2
    pricing: { prompt: "0.000001", completion: "0.000002" },
    capabilities: { tools: true, vision: true, json_mode: true, reasoning: true },
    prices_as_of: MOCK_PRICES_AS_OF,
  },
];
