/**
 * The Worker's environment. Bindings and the vars wrangler.toml sets come from `wrangler types`
 * (src/worker-configuration.d.ts, made again from wrangler.toml by `npm run types`, which `npm run typecheck` runs;
 * .dev.vars is left out, so local secrets never reach it).
 * The settings below are optional vars and secrets (`wrangler secret put`, .dev.vars) that wrangler.toml only
 * mentions; every one of them is a string, unset means the default. Provider credentials are named by the
 * providers (`<PROVIDER>_API_KEY`, `<PROVIDER>_BASE_URL`, a custom provider's `api_key_secret`): read them with
 * `envVar`.
 */
declare global {
  namespace Cloudflare {
    interface Env {
      /** How long a client may take to send a request body, in ms (default 30000): 408 after it. */
      BODY_TIMEOUT_MS?: string;
      /** Upstream time limits in ms (docs/routing.md): headers of a stream, first token, silence, a whole request. */
      UPSTREAM_HEADERS_TIMEOUT_MS?: string;
      UPSTREAM_FIRST_TOKEN_TIMEOUT_MS?: string;
      UPSTREAM_IDLE_TIMEOUT_MS?: string;
      UPSTREAM_TOTAL_TIMEOUT_MS?: string;
      /** Seconds a team's policy and the gateway config stay in an isolate's memory. */
      POLICY_CACHE_TTL_SECONDS?: string;
      CONFIG_CACHE_TTL_SECONDS?: string;
      /** Circuit breakers and the Health object's sync (docs/routing.md). */
      CIRCUIT_FAILURES?: string;
      CIRCUIT_OPEN_MS?: string;
      CIRCUIT_WINDOW_MS?: string;
      HEALTH_SYNC_MS?: string;
      HEALTH_PULL_MS?: string;
      /** Ledger retention (docs/ledger.md). */
      LEDGER_RETENTION_DAYS?: string;
      LEDGER_EXPORT_REQUIRED?: string;
      /** Operator token that may read any team's usage. */
      ADMIN_TOKEN?: string;
      /** Signs the head of every team's audit chain (HMAC-SHA-256); unset (dev), heads are unsigned. */
      AUDIT_SIGNING_KEY?: string;
    }
  }
}

export type Env = Cloudflare.Env;

/** A var or secret named at run time (a provider's key or base URL), or undefined when unset or empty. */
export function envVar(env: Env, name: string): string | undefined {
  const v = (env as unknown as Record<string, unknown>)[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}
