/** API key material. Keys are `sk-sy-` + 32 random bytes in base64url; only their SHA-256 is stored. */
export const KEY_PREFIX = "sk-sy-";
export const SCOPES = ["inference", "usage:read"] as const;
export type Scope = (typeof SCOPES)[number];

/** What the gateway knows of a key: never the key itself. */
export interface KeyRecord {
  id: string;
  team: string;
  name: string | null;
  scopes: Scope[];
  /** Epoch ms, or null for no expiry. */
  expires_at: number | null;
  revoked_at: number | null;
}

function base64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomToken(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export function generateKey(): string {
  return KEY_PREFIX + randomToken(32);
}

export function generateKeyId(): string {
  return "k_" + randomToken(9).replace(/[-_]/g, "x");
}

/** A short, non-secret label for listings: the prefix and the first 4 random characters. */
export function displayPrefix(key: string): string {
  return key.slice(0, KEY_PREFIX.length + 4) + "…";
}

export async function hashKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  let hex = "";
  for (const b of new Uint8Array(digest)) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/** KV layout: `key:<sha256 hex>` → KeyRecord JSON (see docs/storage.md). */
export function kvKeyName(hash: string): string {
  return `key:${hash}`;
}

export function looksLikeKey(s: string): boolean {
  return s.startsWith(KEY_PREFIX) && s.length >= KEY_PREFIX.length + 43 && s.length <= 200;
}
