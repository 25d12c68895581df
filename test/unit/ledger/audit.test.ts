import { describe, expect, it } from "vitest";
import { canonicalJson, canonicalRecord, ChainVerifier, chainHash, GENESIS_HASH, type AuditRecord } from "../../../src/ledger/audit";

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

  it("starts from an anchor after pruning", () => {
    const rows = chain();
    const v = new ChainVerifier({ seq: 2, hash: rows[1]!.hash });
    v.push(rows.slice(2));
    expect(v.mismatch).toBeNull();
  });
});
