import * as z from "zod";
import { decimalAmount } from "../core/decimal";
import { BUILTIN_PROVIDERS } from "./builtin";
import { upstreamUrlProblem } from "./upstream-url";

/**
 * The gateway-wide config (`switchyard config push <file>`), shared by the CLI, which validates before it
 * writes, and the Worker, which merges it into the catalog. Unknown fields are rejected with their path;
 * fields may be added, never renamed.
 */

/** Dollars per token as a decimal string, exact to 1e-12 (the ledger's sub-unit). */
const Price = decimalAmount('dollars per token with at most 12 decimals, e.g. "0.0000006" or 0.0000006');

export const ConfigPricing = z.strictObject({
  prompt: Price,
  completion: Price,
  input_cache_read: Price.optional(),
  input_cache_write: Price.optional(),
  internal_reasoning: Price.optional(),
  request: Price.optional(),
  /** Dollars per web search (Anthropic-format providers report the count in usage). */
  web_search: Price.optional(),
});

const ProviderId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "lowercase letters, digits, - and _");

export const ConfigProvider = z.strictObject({
  /** Models of this provider are addressed as `<id>/<model>`. */
  id: ProviderId,
  name: z.string().min(1).max(100).optional(),
  /** The OpenAI-compatible base URL, as the OpenAI SDK means it (`/chat/completions` is appended). */
  base_url: z.url({ protocol: /^https?$/ }).superRefine((u, ctx) => {
    const problem = upstreamUrlProblem(u);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
  /** It serves OpenAI's Responses API at `<base_url>/responses`: /v1/responses requests are passed through there. */
  responses: z.boolean().optional(),
  /** The Worker secret (or .dev.vars entry) holding the provider's API key. */
  api_key_secret: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, "an environment variable name, e.g. ACME_API_KEY"),
  /** Whether the provider may keep or train on prompts; unknown is treated as allow. */
  data_collection: z.enum(["allow", "deny"]).default("allow"),
  zdr: z.boolean().default(false),
  retention_days: z.number().int().min(0).nullable().default(null),
  regions: z.array(z.string().min(2).max(16)).default([]),
  /**
   * How it continues a trailing assistant message, so that a cut answer may be continued there
   * (routing.continue_on_cut): none (default), assistant (continued as is: llama.cpp, vLLM with
   * `continue_final_message`, most self-hosted servers) or prefix (Mistral/DeepSeek's `"prefix": true`).
   */
  prefill: z.enum(["none", "assistant", "prefix"]).default("none"),
});

export const ConfigModel = z.strictObject({
  /** `provider/model`; the provider is a custom one above or a built-in one. Reusing a built-in id replaces it. */
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]*\/[A-Za-z0-9._:/-]+$/, "expected provider/model"),
  /** The model name sent upstream; default: the id without the provider prefix. */
  upstream_id: z.string().min(1).max(200).optional(),
  /** chat (default) or embedding: an embedding model is served by POST /v1/embeddings only. */
  kind: z.enum(["chat", "embedding"]).optional(),
  name: z.string().min(1).max(200).optional(),
  context_length: z.number().int().positive(),
  max_output: z.number().int().positive().optional(),
  pricing: ConfigPricing,
  /** What the model can do; unset capabilities are taken as supported (the provider decides). */
  capabilities: z
    .strictObject({ tools: z.boolean().optional(), vision: z.boolean().optional(), json_mode: z.boolean().optional(), reasoning: z.boolean().optional() })
    .default({}),
  /** ISO date the prices were taken; default: the day of the push. */
  prices_as_of: z.iso.date().optional(),
});

const BUILTIN_IDS = new Set(BUILTIN_PROVIDERS.map((p) => p.id));

/** Secrets of the gateway itself, which a custom provider's key must never be read from. */
const GATEWAY_SECRETS: readonly string[] = ["ADMIN_TOKEN", "AUDIT_SIGNING_KEY"];
const BUILTIN_KEY_SECRETS = new Set(BUILTIN_PROVIDERS.map((p) => `${p.id.toUpperCase()}_API_KEY`));

/**
 * A custom provider is sent the value of its `api_key_secret` with every request: naming the admin token or
 * another provider's key would hand that secret to whoever runs the provider's server.
 */
function secretProblem(secret: string, takenBy: string | undefined): string | null {
  if (GATEWAY_SECRETS.includes(secret)) return `${secret} is the gateway's own secret, not a provider key`;
  if (BUILTIN_KEY_SECRETS.has(secret)) return `${secret} is a built-in provider's key`;
  if (takenBy) return `${secret} is already the secret of provider ${takenBy}`;
  return null;
}

export const GatewayConfig = z
  .strictObject({
    providers: z.array(ConfigProvider).default([]),
    models: z.array(ConfigModel).default([]),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    const secrets = new Map<string, string>();
    cfg.providers.forEach((p, i) => {
      const secret = secretProblem(p.api_key_secret, secrets.get(p.api_key_secret));
      if (secret) ctx.addIssue({ code: "custom", path: ["providers", i, "api_key_secret"], message: secret });
      if (!secrets.has(p.api_key_secret)) secrets.set(p.api_key_secret, p.id);
      if (BUILTIN_IDS.has(p.id)) ctx.addIssue({ code: "custom", path: ["providers", i, "id"], message: `${p.id} is a built-in provider` });
      if (seen.has(p.id)) ctx.addIssue({ code: "custom", path: ["providers", i, "id"], message: `provider ${p.id} is listed twice` });
      seen.add(p.id);
    });
    const models = new Set<string>();
    cfg.models.forEach((m, i) => {
      const provider = m.id.slice(0, m.id.indexOf("/"));
      if (!seen.has(provider) && !BUILTIN_IDS.has(provider)) {
        ctx.addIssue({ code: "custom", path: ["models", i, "id"], message: `unknown provider ${provider}: add it under providers` });
      }
      if (models.has(m.id)) ctx.addIssue({ code: "custom", path: ["models", i, "id"], message: `model ${m.id} is listed twice` });
      models.add(m.id);
    });
  });

export type GatewayConfig = z.output<typeof GatewayConfig>;

/** The first problem of a document, as `path: message` (e.g. `models[0].pricing.prompt: ...`). */
export function describeConfigError(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");
  return `${path || "config"}: ${issue.message}`;
}

/** Where `config push` puts the current config for Workers to read (see docs/storage.md). */
export const CONFIG_KV_KEY = "config:gateway";

export interface StoredConfig {
  version: number;
  document: unknown;
  /** ISO date of the push: the prices_as_of of config models that name none. */
  pushed_at?: string;
}
