import { lastCatalog } from "../catalog/load";
import type { Env } from "../env";
import { configuredKeys } from "./registry";

/**
 * Provider credentials never leave the gateway: a provider's error may quote the key it received (some
 * OpenAI-compatible servers do), and its text reaches the client and the ledger. Every message taken from a
 * provider goes through `scrubSecrets` first: the exact key of every configured provider (and the admin
 * token), then anything shaped like a credential (a Bearer or Basic value, `sk-…`, `key-…` and similar prefixed
 * keys, Google's `AIza…`, a long run of letters and digits) is replaced by "[redacted]".
 */
const REDACTED = "[redacted]";
const AUTH_SCHEME = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]*[A-Za-z0-9_~+/=-]/gi;
const SHAPES = [/\b(?:sk|key|rk|pk|gsk|xai|fw)[-_][A-Za-z0-9._-]{8,}/gi, /\bAIza[0-9A-Za-z_-]{10,}/g];
/** 32 or more letters, digits, `-` or `_` with both letters and digits: an API key or a token, not a word. */
const LONG_TOKEN = /[A-Za-z0-9_-]{32,}/g;
const MIXED = /(?=.*[A-Za-z])(?=.*[0-9])/;
/** Shorter configured values are left to the shapes above: replacing them everywhere would mangle text. */
const MIN_SECRET_LENGTH = 8;

/** The secrets of this deployment a message must never carry. */
function gatewaySecrets(env: Env): string[] {
  const admin = typeof env.ADMIN_TOKEN === "string" ? [env.ADMIN_TOKEN] : [];
  return [...configuredKeys(env, lastCatalog().providers), ...admin].filter((s) => s.length >= MIN_SECRET_LENGTH);
}

export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  out = out.replace(AUTH_SCHEME, (_, scheme: string) => `${scheme} ${REDACTED}`);
  for (const re of SHAPES) out = out.replace(re, REDACTED);
  return out.replace(LONG_TOKEN, (m) => (MIXED.test(m) ? REDACTED : m));
}

/** `scrubSecrets` with this deployment's secrets. */
export function scrubberFor(env: Env): (text: string) => string {
  let secrets: string[] | null = null;
  return (text) => scrubSecrets(text, (secrets ??= gatewaySecrets(env)));
}
