import type { MiddlewareHandler } from "hono";
import type { Env } from "../env";
import type { HonoEnv } from "../http/app";
import { GatewayError } from "../core/errors";
import type { Scope } from "./keys";
import { hashKey } from "./keys";
import { lookupKey } from "./lookup";

/**
 * The key a request presents: `Authorization: Bearer <key>` or `x-api-key: <key>`. The key is printable ASCII
 * with nothing around it but spaces and tabs (HTTP's own whitespace): a key followed by a vertical tab, a
 * form feed or any other character is not that key.
 */
export function presentedKey(headers: Headers): string | null {
  const auth = headers.get("authorization");
  if (auth) return BEARER.exec(auth)?.[1] ?? null;
  const key = headers.get("x-api-key");
  return key ? (API_KEY.exec(key)?.[1] ?? null) : null;
}

const BEARER = /^[ \t]*Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i;
const API_KEY = /^[ \t]*([\x21-\x7e]+)[ \t]*$/;

const REASON_MESSAGE = {
  unknown: "invalid API key",
  revoked: "this API key has been revoked",
  expired: "this API key has expired",
} as const;

/**
 * Authenticates the request and requires `scope` (one of them, when a list). With `allowAdmin`, the operator's ADMIN_TOKEN is accepted
 * too and the team comes from the `team` query parameter.
 */
export function requireKey(scope: Scope | readonly Scope[], opts: { allowAdmin?: boolean } = {}): MiddlewareHandler<HonoEnv> {
  const anyOf: readonly Scope[] = typeof scope === "string" ? [scope] : scope;
  for (const s of anyOf) if (!["inference", "usage:read"].includes(s)) throw new Error(`unknown scope ${s}`);
  if (anyOf.length === 0) throw new Error("requireKey needs a scope");
  return async (c, next) => {
    const token = presentedKey(c.req.raw.headers);
    if (!token) throw new GatewayError("unauthorized", "missing API key: send Authorization: Bearer <key> or x-api-key");
    if (opts.allowAdmin && (await isAdminToken(c.env, token))) {
      const team = c.req.query("team");
      if (!team) throw new GatewayError("bad_request", "the admin token needs a team query parameter", { details: { param: "team" } });
      c.set("caller", { key: null, team });
      return next();
    }
    const check = await lookupKey(c.env, token);
    if (!check.ok) throw new GatewayError("unauthorized", REASON_MESSAGE[check.reason]);
    if (!anyOf.some((s) => check.record.scopes.includes(s))) {
      throw new GatewayError("forbidden", `this API key lacks the ${anyOf.join(" or ")} scope`);
    }
    c.set("caller", { key: check.record, team: check.record.team });
    return next();
  };
}

/** Compares the token with ADMIN_TOKEN in constant time (over their hashes, so lengths never leak). */
async function isAdminToken(env: Env, token: string): Promise<boolean> {
  const admin = env.ADMIN_TOKEN;
  if (typeof admin !== "string" || admin.length < 16) return false;
  const [a, b] = await Promise.all([hashKey(token), hashKey(admin)]);
  const enc = new TextEncoder();
  return crypto.subtle.timingSafeEqual(enc.encode(a), enc.encode(b));
}
