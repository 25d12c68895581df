import { Hono } from "hono";
import type { KeyRecord } from "../auth/keys";
import type { Env } from "../env";
import { GatewayError, errorResponse } from "../core/errors";

export interface Caller {
  /** The calling key, or null for the operator's admin token. */
  key: KeyRecord | null;
  team: string;
}

export type HonoEnv = {
  Bindings: Env;
  Variables: { requestId: string; caller: Caller; renderError?: ErrorRenderer };
};

/** Renders an error in the route's own format (e.g. Anthropic's for /v1/messages). */
export type ErrorRenderer = (err: GatewayError, requestId: string) => Response;

declare module "hono" {
  interface ContextVariableMap {
    requestId: string;
    caller: Caller;
    renderError?: ErrorRenderer;
  }
}

function newRequestId(): string {
  return `gen-${Math.floor(Date.now() / 1000)}-${crypto.randomUUID().replace(/-/g, "").slice(0, 20)}`;
}

/** Paths the gateway serves, with their methods: anything else on them is 405, not 404. */
const ROUTES: Record<string, string[]> = {
  "/v1/chat/completions": ["POST"],
  "/v1/messages": ["POST"],
  "/v1/messages/count_tokens": ["POST"],
  "/v1/responses": ["POST"],
  "/v1/embeddings": ["POST"],
  "/v1/models": ["GET"],
  "/v1/usage": ["GET"],
  "/v1/usage/export": ["GET"],
  "/v1/usage/export/ack": ["POST"],
  "/v1/audit/export": ["GET"],
  "/v1/audit/totals": ["GET"],
  "/v1/generation": ["GET"],
  "/v1/generations": ["GET"],
  "/v1/key": ["GET"],
};

/** The most request header bytes (names and values) the gateway reads: more is 431, before any other work. */
const MAX_HEADER_BYTES = 32 * 1024;

function headerBytes(headers: Headers): number {
  let n = 0;
  for (const [name, value] of headers) n += name.length + value.length + 4;
  return n;
}

/** The one app factory: request ids, JSON errors for everything, 404 and 405 that say so. */
export function newApp(): Hono<HonoEnv> {
  const app = new Hono<HonoEnv>();
  app.use(async (c, next) => {
    const id = newRequestId();
    c.set("requestId", id);
    if (headerBytes(c.req.raw.headers) > MAX_HEADER_BYTES) {
      throw new GatewayError("headers_too_large", `request headers exceed ${MAX_HEADER_BYTES} bytes`);
    }
    await next();
    c.res.headers.set("x-request-id", id);
  });
  app.onError((err, c) => {
    const id = c.get("requestId") ?? newRequestId();
    if (err instanceof GatewayError) return (c.get("renderError") ?? errorResponse)(err, id);
    console.error(JSON.stringify({ msg: "unhandled error", request_id: id, error: String(err), stack: (err as Error).stack }));
    return errorResponse(new GatewayError("internal", "internal error; see the gateway's logs for this request id"), id);
  });
  app.notFound((c) => {
    const id = c.get("requestId") ?? newRequestId();
    const allowed = ROUTES[c.req.path];
    // A method the path allows but no handler took: not served (yet), so 404 rather than a 405 naming it.
    if (allowed && !allowed.includes(c.req.method)) {
      return errorResponse(
        new GatewayError("method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(", ")}`, {
          headers: { allow: allowed.join(", ") },
        }),
        id,
      );
    }
    return errorResponse(new GatewayError("not_found", `no route for ${c.req.method} ${c.req.path}`), id);
  });
  return app;
}
