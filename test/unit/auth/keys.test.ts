import { describe, expect, it } from "vitest";
import { displayPrefix, generateKey, generateKeyId, hashKey, KEY_PREFIX, kvKeyName, looksLikeKey } from "../../../src/auth/keys";
import { presentedKey } from "../../../src/auth/middleware";

describe("API keys", () => {
  it("are sk-sy- and 43 base64url characters (32 random bytes)", () => {
    const keys = Array.from({ length: 200 }, generateKey);
    for (const k of keys) {
      expect(k).toMatch(/^sk-sy-[A-Za-z0-9_-]{43}$/);
      expect(looksLikeKey(k)).toBe(true);
    }
    expect(new Set(keys).size).toBe(keys.length);
    expect(KEY_PREFIX).toBe("sk-sy-");
  });

  it("hash to lowercase SHA-256 hex", async () => {
    expect(await hashKey("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await hashKey("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const k = generateKey();
    expect(await hashKey(k)).toMatch(/^[0-9a-f]{64}$/);
    expect(await hashKey(k)).toBe(await hashKey(k));
  });

  it("are stored in KV under key:<hash>", () => {
    expect(kvKeyName("ab12")).toBe("key:ab12");
  });

  it("show a short non-secret prefix", () => {
    expect(displayPrefix("sk-sy-AbCdEfGhIjKl")).toBe("sk-sy-AbCd…");
  });

  it("have ids k_ + 12 alphanumerics", () => {
    const ids = Array.from({ length: 200 }, generateKeyId);
    for (const id of ids) expect(id).toMatch(/^k_[A-Za-z0-9]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("reject strings that cannot be keys before hashing", () => {
    expect(looksLikeKey("")).toBe(false);
    expect(looksLikeKey("sk-sy-short")).toBe(false);
    expect(looksLikeKey("sk-xx-" + "a".repeat(43))).toBe(false);
    expect(looksLikeKey("sk-sy-" + "a".repeat(43))).toBe(true);
    expect(looksLikeKey("sk-sy-" + "a".repeat(300))).toBe(false);
  });
});

describe("presentedKey", () => {
  const h = (init: Record<string, string>) => new Headers(init);

  it("reads Authorization: Bearer, case-insensitively, trimming spaces", () => {
    expect(presentedKey(h({ authorization: "Bearer sk-sy-abc" }))).toBe("sk-sy-abc");
    expect(presentedKey(h({ authorization: "bearer   sk-sy-abc  " }))).toBe("sk-sy-abc");
  });

  it("reads x-api-key", () => {
    expect(presentedKey(h({ "x-api-key": " sk-sy-abc " }))).toBe("sk-sy-abc");
  });

  it("returns null when no usable key is sent", () => {
    expect(presentedKey(h({}))).toBeNull();
    expect(presentedKey(h({ authorization: "Basic dXNlcjpwdw==" }))).toBeNull();
    expect(presentedKey(h({ authorization: "Bearer" }))).toBeNull();
    expect(presentedKey(h({ authorization: "Bearer a b" }))).toBeNull();
    expect(presentedKey(h({ "x-api-key": "  " }))).toBeNull();
  });
});
