import { describe, expect, it } from "vitest";
import { canonicalJson, canonicalRecord, ChainVerifier, chainHash, GENESIS_HASH, sha256Hex, type AuditRecord } from "../../../src/ledger/audit";
import { hmacSha256Hex } from "../../../src/ledger/audit-seal";

async function subtleHex(s: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("sha256Hex", () => {
  it("matches the known vectors and WebCrypto on every length around the block boundaries", async () => {
    expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    for (let n = 0; n < 300; n++) {
      const text = Array.from({ length: n }, (_, i) => String.fromCharCode(32 + ((i * 131 + n * 7) % 95))).join("");
      expect(sha256Hex(text)).toBe(await subtleHex(text));
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

describe("canonicalJson", () => {
  it("sorts keys at every level, drops undefined, keeps arrays in order", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined }, e: null })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1,"e":null}');
  });
});

describe("canonicalRecord", () => {
  it("is canonicalJson of the record, byte for byte", () => {
    const variants: Partial<AuditRecord>[] = [
      {},
      { user: "ü \"quoted\" \n", ttfb_ms: 12, content_sha256: "ab".repeat(32), estimated: true },
      { attempts: [{ provider: "p", model: "m", status: 502, ok: false, error: "boom", latency_ms: 3 }, { provider: "p", model: "m", status: 200, ok: true, latency_ms: 4 }] },
      { attempts: [{ provider: "p", model: "m", status: 0, ok: false, error: undefined, latency_ms: 1.5 }], cost: 9_007_199_254_740_991 },
    ];
    for (const v of variants) expect(canonicalRecord(rec(7, v))).toBe(canonicalJson(rec(7, v)));
  });
});

function rec(seq: number, over: Partial<AuditRecord> = {}): AuditRecord {
  return {
    seq, id: `gen-${seq}`, created_at: 1_700_000_000_000 + seq, key_id: "k_1", user: null, model_requested: "m/x", model: "m/x", provider: "m",
    status: "ok", streamed: false, cancelled: false, estimated: false, prompt_tokens: 1, completion_tokens: 2, cached_tokens: 0,
    cache_write_tokens: 0, reasoning_tokens: 0, cost: 5, ttfb_ms: null, latency_ms: 3, attempts: [], content_sha256: null, ...over,
  };
}

describe("ChainVerifier", () => {
  const chain = () => {
    let prev = GENESIS_HASH;
    return [1, 2, 3, 4].map((seq) => {
      const record = rec(seq);
      prev = chainHash(prev, record);
      return { record, hash: prev };
    });
  };

  it("accepts an intact chain and its head", () => {
    const rows = chain();
    const v = new ChainVerifier(null);
    v.push(rows);
    v.finish({ seq: 4, hash: rows[3]!.hash });
    expect(v.mismatch).toBeNull();
    expect(v.checked).toBe(4);
  });

  it("names the first changed, removed or truncated record", () => {
    const changed = chain();
    changed[2]!.record.cost = 6;
    let v = new ChainVerifier(null);
    v.push(changed);
    expect(v.mismatch?.id).toBe("gen-3");

    const removed = chain();
    removed.splice(1, 1);
    v = new ChainVerifier(null);
    v.push(removed);
    expect(v.mismatch?.id).toBe("gen-3");

    const rows = chain();
    v = new ChainVerifier(null);
    v.push(rows.slice(0, 3));
    v.finish({ seq: 4, hash: rows[3]!.hash });
    expect(v.mismatch?.id).toBe("(head)");
  });

  it("hashes records as the chains already stored were hashed (fixed vectors)", () => {
    expect(chainHash(GENESIS_HASH, rec(1))).toBe("003ed32f18f7242e8a4c21b090addbe92d288fa936e06ffb11e7e587b50d7b78");
    const full = rec(2, {
      user: "ü", cached_tokens: 3, cache_write_tokens: 4, reasoning_tokens: 1, estimate_method: "chars", uncapped_cost: 9,
      attempts: [{ provider: "p", model: "m", status: 200, ok: true, latency_ms: 4 }],
    });
    expect(chainHash(GENESIS_HASH, full)).toBe("cadb621a2af93ab0dd55af809d7790f9a12ccb0ac92bf148260e6ee3a4d01dab");
    expect(hmacSha256Hex("audit key", "switchyard-audit-seal-v1\nabc\n3")).toBe("2ae692b5b3c41dee97517c7e6b6b83d6cd232050665a3d136669a1c8d636cacd");
  });

  it("starts from an anchor after pruning", () => {
    const rows = chain();
    const v = new ChainVerifier({ seq: 2, hash: rows[1]!.hash });
    v.push(rows.slice(2));
    expect(v.mismatch).toBeNull();
  });
});
