import type { Ledger } from "./ledger/ledger-do";
import type { Health } from "./routing/health-do";

/** Bindings, vars and secrets of the Worker (wrangler.toml, .dev.vars, `wrangler secret put`). */
export interface Env {
  DB: D1Database;
  KV: KVNamespace;
  LEDGER: DurableObjectNamespace<Ledger>;
  /** Provider health shared across isolates (circuit breakers, latency and throughput averages). */
  HEALTH?: DurableObjectNamespace<Health>;
  MOCK_PROVIDER?: string;
  KEY_CACHE_TTL_SECONDS?: string;
  MAX_BODY_BYTES?: string;
  /** How long a client may take to send a request body, in ms (default 30000): 408 after it. */
  BODY_TIMEOUT_MS?: string;
  /** Upstream time limits in ms: response headers of a stream (default 15000), a whole request (default 300000). */
  UPSTREAM_HEADERS_TIMEOUT_MS?: string;
  UPSTREAM_TOTAL_TIMEOUT_MS?: string;
  /** Operator token that may read any team's usage. */
  ADMIN_TOKEN?: string;
  /** Signs the head of every team's audit chain (HMAC-SHA-256); unset (dev), heads are unsigned. */
  AUDIT_SIGNING_KEY?: string;
  /** `<PROVIDER>_API_KEY` secrets and `<PROVIDER>_BASE_URL` vars, plus custom providers' secrets. */
  [name: string]: unknown;
}
