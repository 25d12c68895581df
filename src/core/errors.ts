/**
 * The one error type of the gateway. Every failure that reaches a client is a GatewayError,
 * rendered as `{"error": {"code", "message", "type", "request_id"}}` with the status its code maps to.
 */
const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  unsupported_parameter: 400,
  /** A feature the provider bills beyond token prices, not allowed (or not priceable). */
  premium_feature: 400,
  context_length_exceeded: 400,
  content_policy: 400,
  unauthorized: 401,
  insufficient_budget: 402,
  forbidden: 403,
  policy_denied: 403,
  not_found: 404,
  model_not_found: 404,
  no_route: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  payload_too_large: 413,
  headers_too_large: 431,
  rate_limited: 429,
  internal: 500,
  upstream_error: 502,
  upstream_unreachable: 502,
  unavailable: 503,
  upstream_timeout: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** OpenAI-style `type` for each status class, so SDKs map errors to their own classes. */
function errorType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 402) return "insufficient_quota";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 408 || status === 504) return "timeout_error";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "api_error";
  return "invalid_request_error";
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { status?: number; headers?: Record<string, string>; details?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.code = code;
    this.status = opts.status ?? ERROR_STATUS[code];
    this.headers = opts.headers ?? {};
    this.details = opts.details;
  }

  get type(): string {
    return errorType(this.status);
  }

  toBody(requestId: string): { error: Record<string, unknown> } {
    return {
      error: {
        code: this.code,
        message: this.message,
        type: this.type,
        request_id: requestId,
        ...(this.details ?? {}),
      },
    };
  }
}

export function errorResponse(err: GatewayError, requestId: string): Response {
  return new Response(JSON.stringify(err.toBody(requestId)), {
    status: err.status,
    headers: { "content-type": "application/json", "x-request-id": requestId, ...err.headers },
  });
}

/** Why an attempt at one provider failed, and whether another try (here or elsewhere) could succeed. */
export class AttemptError extends Error {
  constructor(
    /** The provider's HTTP status, or 0 when none arrived. */
    readonly status: number,
    message: string,
    readonly kind: "unreachable" | "timeout" | "http" | "cancelled",
    readonly retryAfterMs?: number,
    /**
     * A time limit fired that the client set below the gateway's own (policy or default): the failure is the
     * client's choice and says nothing about the provider's health.
     */
    readonly byClient = false,
  ) {
    super(message);
  }
}

/** What a provider's 4xx says about the request itself (routing/retry.ts classifies it). */
export type FailureKind = "context_length" | "content_policy" | null;

/** The error a client sees when no attempt succeeded, in our shape, with the provider's status for 4xx. */
export function clientError(err: AttemptError, provider: string, kind: FailureKind = null, model?: string): GatewayError {
  const details = model ? { provider, model } : { provider };
  if (err.kind === "timeout") return new GatewayError("upstream_timeout", err.message, { details });
  if (err.kind === "cancelled") return new GatewayError("request_timeout", "the client disconnected", { details });
  if (err.kind === "unreachable") return new GatewayError("upstream_unreachable", `${provider}: ${err.message}`, { details });
  if (kind === "context_length") return new GatewayError("context_length_exceeded", `${provider}: ${err.message}`, { details });
  if (kind === "content_policy") return new GatewayError("content_policy", `${provider}: ${err.message}`, { details });
  // The gateway's own misconfiguration, not the client's: the provider's words (which may quote the key) stay out.
  if (err.status === 401 || err.status === 403) {
    return new GatewayError("upstream_error", `${provider} rejected the gateway's credentials (${err.status})`, { details });
  }
  if (err.status === 429) {
    const headers: Record<string, string> = err.retryAfterMs !== undefined ? { "retry-after": String(Math.ceil(err.retryAfterMs / 1000)) } : {};
    return new GatewayError("rate_limited", `${provider}: ${err.message}`, { headers, details });
  }
  if (err.status >= 400 && err.status < 500) {
    return new GatewayError("bad_request", `${provider}: ${err.message}`, { status: err.status, details });
  }
  return new GatewayError("upstream_error", `${provider} failed (${err.status}): ${err.message}`, { details });
}
