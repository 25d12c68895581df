import { describe, expect, it } from "vitest";
import { TtlCache } from "../../../src/core/ttl-cache";

/** A load that counts its calls and resolves when told to. */
function gate<V>() {
  let calls = 0;
  let release: (v: V) => void = () => {};
  let fail: (e: unknown) => void = () => {};
  const load = () => {
    calls++;
    return new Promise<V>((res, rej) => {
      release = res;
      fail = rej;
    });
  };
  return { load, calls: () => calls, release: (v: V) => release(v), fail: (e: unknown) => fail(e) };
}

describe("TtlCache", () => {
  it("keeps a loaded value for its TTL, then loads again", async () => {
    const c = new TtlCache<string, number>();
    let n = 0;
    const load = async () => ++n;
    expect(await c.get("a", 1_000, () => 500, load)).toBe(1);
    expect(c.fresh("a", 1_499)).toBe(1);
    expect(await c.get("a", 1_499, () => 500, load)).toBe(1);
    expect(c.fresh("a", 1_500)).toBeUndefined();
    expect(c.last("a")).toBe(1);
    expect(await c.get("a", 1_500, () => 500, load)).toBe(2);
    expect(n).toBe(2);
  });

  it("a TTL of 0 keeps the last value but never serves it as fresh", async () => {
    const c = new TtlCache<string, string>();
    expect(await c.get("k", 10, () => 0, async () => "v1")).toBe("v1");
    expect(c.fresh("k", 10)).toBeUndefined();
    expect(c.last("k")).toBe("v1");
    expect(await c.get("k", 10, () => 0, async () => "v2")).toBe("v2");
  });

  it("caches a null (a miss) like any value", async () => {
    const c = new TtlCache<string, string | null>();
    let n = 0;
    const load = async () => (n++, null);
    expect(await c.get("x", 0, () => 100, load)).toBeNull();
    expect(await c.get("x", 50, () => 100, load)).toBeNull();
    expect(n).toBe(1);
  });

  it("callers that miss together each load on their own: none waits on a load another request started", async () => {
    const c = new TtlCache<string, string>();
    const first = gate<string>();
    const a1 = c.get("a", 0, () => 100, first.load);
    // The first caller's load never lands (its request was cancelled): the second is not held up by it.
    expect(await c.get("a", 0, () => 100, async () => "a")).toBe("a");
    expect(first.calls()).toBe(1);
    expect(c.fresh("a", 99)).toBe("a");
    first.release("a, late");
    expect(await a1).toBe("a, late");
  });

  it("a failed load keeps nothing and fails its caller; the next call loads again", async () => {
    const c = new TtlCache<string, string>();
    const g = gate<string>();
    const p1 = c.get("a", 0, () => 100, g.load);
    g.fail(new Error("kv down"));
    await expect(p1).rejects.toThrow("kv down");
    expect(c.last("a")).toBeUndefined();
    expect(await c.get("a", 0, () => 100, async () => "ok")).toBe("ok");
  });

  it("stays within its bound: past it, the cache starts over", async () => {
    const c = new TtlCache<number, number>(3);
    for (let i = 0; i < 3; i++) c.set(i, i, 1_000);
    c.set(1, 10, 1_000);
    expect(c.size).toBe(3);
    c.set(3, 3, 1_000);
    expect(c.size).toBe(1);
    expect(c.fresh(3, 0)).toBe(3);
    expect(c.last(0)).toBeUndefined();
  });

  it("reads the TTL only when it keeps a loaded value", async () => {
    const c = new TtlCache<string, number>();
    let reads = 0;
    const ttl = () => (reads++, 100);
    await c.get("a", 0, ttl, async () => 1);
    await c.get("a", 1, ttl, async () => 2);
    expect(reads).toBe(1);
  });
});
