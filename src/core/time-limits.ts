import type { Env } from "../env";
import { envNumber } from "./env-number";

/**
 * Default time limits (ms), sized for interactive use: a client waiting on a silent provider is better served
 * by the fallback. A policy's `routing.timeouts_ms` replaces them (up or down); a request's
 * `provider.timeouts_ms` only lowers them.
 */
export const TIMEOUTS = {
  /** Stream: response headers from the provider. */
  headers: 15_000,
  /** Stream: the first token, counted from the request's send (models that reason first: `first_token_reasoning`). */
  first_token: 15_000,
  first_token_reasoning: 120_000,
  /** Stream: silence between chunks. */
  idle: 20_000,
  /** Whole request, retries included (a non-stream answer arrives only when complete). */
  total: 300_000,
};

/**
 * The gateway-wide defaults: TIMEOUTS, unless the UPSTREAM_HEADERS_TIMEOUT_MS, UPSTREAM_FIRST_TOKEN_TIMEOUT_MS,
 * UPSTREAM_IDLE_TIMEOUT_MS or UPSTREAM_TOTAL_TIMEOUT_MS vars say otherwise.
 */
export function upstreamTimeouts(env: Env): typeof TIMEOUTS {
  const firstToken = envNumber(env, "UPSTREAM_FIRST_TOKEN_TIMEOUT_MS", 0);
  return {
    headers: envNumber(env, "UPSTREAM_HEADERS_TIMEOUT_MS", TIMEOUTS.headers),
    first_token: firstToken || TIMEOUTS.first_token,
    first_token_reasoning: firstToken || TIMEOUTS.first_token_reasoning,
    idle: envNumber(env, "UPSTREAM_IDLE_TIMEOUT_MS", TIMEOUTS.idle),
    total: envNumber(env, "UPSTREAM_TOTAL_TIMEOUT_MS", TIMEOUTS.total),
  };
}
