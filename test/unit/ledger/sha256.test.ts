import { describe, expect, it } from "vitest";
import { hmacSha256Hex, sha256Hex } from "../../../src/ledger/sha256";

async function subtleHex(s: string | Uint8Array): Promise<string> {
  const data = typeof s === "string" ? new TextEncoder().encode(s) : s;
  const d = await crypto.subtle.digest("SHA-256", data);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("sha256Hex", () => {
  it("matches the known vectors and WebCrypto on every length around the block boundaries", async () => {
    expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    for (let n = 0; n < 300; n++) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 131 + n * 7) & 0xff);
      expect(sha256Hex(bytes)).toBe(await subtleHex(bytes));
    }
    const text = "héllo wörld — 日本語 🎉".repeat(50);
    expect(sha256Hex(text)).toBe(await subtleHex(text));
  });
});

describe("hmacSha256Hex", () => {
  it("matches WebCrypto's HMAC for short, block-sized and long keys", async () => {
    for (const key of ["k", "x".repeat(64), "long key ".repeat(20)]) {
      for (const msg of ["", "switchyard-audit-seal-v1\nabc\n3", "日本語".repeat(40)]) {
        const k = await crypto.subtle.importKey("raw", new TextEncoder().encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
        const sig = new Uint8Array(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(msg)));
        expect(hmacSha256Hex(key, msg)).toBe([...sig].map((b) => b.toString(16).padStart(2, "0")).join(""));
      }
    }
  });
});
