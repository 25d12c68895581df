import { describe, expect, it } from "vitest";
import { settleNewest } from "../../../../cli/commands/settle";

type V = { version: number };

/** D1 numbers versions one at a time; KV takes whichever write reaches it last. */
function store() {
  const d1: V[] = [];
  let kv: V | null = null;
  return {
    push: () => {
      const v = { version: d1.length + 1 };
      d1.push(v);
      return v;
    },
    newest: async () => d1.at(-1) ?? null,
    write: async (v: V) => void (kv = v),
    get kv() {
      return kv;
    },
  };
}

describe("settleNewest: KV ends with the newest version whatever the order of racing pushes", () => {
  it("a push whose KV write lands after a newer push's writes the newer version over it", async () => {
    const s = store();
    const a = s.push(); // A numbers version 1 ...
    const b = s.push(); // ... B numbers version 2 ...
    await s.write(b); // ... B reaches KV first,
    expect(await settleNewest(b, s.newest, s.write)).toEqual({ version: 2 });
    await s.write(a); // then A's late write makes version 1 current,
    expect(s.kv).toEqual({ version: 1 });
    expect(await settleNewest(a, s.newest, s.write)).toEqual({ version: 2 }); // until A checks D1 again.
    expect(s.kv).toEqual({ version: 2 });
  });

  it("every interleaving of three pushes' KV writes and checks leaves the newest in KV", async () => {
    // Each push's steps after numbering its version: its KV write, then its check. All 90 interleavings.
    type Step = { push: number; kind: "write" | "check" };
    const interleavings = (left: number[]): Step[][] => {
      const out: Step[][] = [];
      for (const p of [0, 1, 2]) {
        if (left[p] === 0) continue;
        const kind = left[p] === 2 ? "write" : "check";
        const rest = [...left];
        rest[p]!--;
        const tails = rest.every((n) => n === 0) ? [[]] : interleavings(rest);
        for (const t of tails) out.push([{ push: p, kind }, ...t]);
      }
      return out;
    };
    const all = interleavings([2, 2, 2]);
    expect(all).toHaveLength(90);
    for (const steps of all) {
      const s = store();
      const versions = [s.push(), s.push(), s.push()];
      for (const step of steps) {
        const v = versions[step.push]!;
        if (step.kind === "write") await s.write(v);
        else await settleNewest(v, s.newest, s.write);
      }
      expect(s.kv, JSON.stringify(steps)).toEqual({ version: 3 });
    }
  });

  it("alone, a push writes once and reads once", async () => {
    const s = store();
    const v = s.push();
    let reads = 0;
    let writes = 0;
    await s.write(v);
    await settleNewest(v, async () => (reads++, s.newest()), async (x) => (writes++, s.write(x)));
    expect([reads, writes]).toEqual([1, 0]);
  });
});
