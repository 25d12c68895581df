/**
 * A per-isolate cache of values loaded from storage (keys, policies, the catalog): each value is kept until
 * its time is up, one load per key runs at a time (callers that miss together share it), and the number of
 * entries is bounded (past the bound the cache starts over: an isolate that sees that many distinct keys is
 * being sprayed, and every entry can be loaded again).
 *
 * Times are the caller's `now` (epoch ms), not core/clock.ts: tests that move the circuit breakers' clock must
 * not freeze or expire these. A warm hit never awaits: `fresh` is synchronous, and `get` answers a hit before
 * anything else.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; until: number }>();
  private readonly loading = new Map<K, Promise<V>>();

  constructor(private readonly maxEntries = 10_000) {}

  /** The value while fresh (its time not up at `now`), else undefined. */
  fresh(key: K, now: number): V | undefined {
    const e = this.entries.get(key);
    return e !== undefined && e.until > now ? e.value : undefined;
  }

  /** The value last kept, fresh or not: the last good copy while a reload is refused. */
  last(key: K): V | undefined {
    return this.entries.get(key)?.value;
  }

  /**
   * The fresh value, or the one `load` gives, kept for `ttlMs()` from `now` (0: not reused). A load that fails
   * keeps nothing and fails every caller that shared it.
   */
  get(key: K, now: number, ttlMs: () => number, load: () => Promise<V>): Promise<V> {
    const e = this.entries.get(key);
    if (e !== undefined && e.until > now) return Promise.resolve(e.value);
    let p = this.loading.get(key);
    if (!p) {
      p = load()
        .then((value) => {
          this.set(key, value, now + ttlMs());
          return value;
        })
        .finally(() => this.loading.delete(key));
      this.loading.set(key, p);
    }
    return p;
  }

  set(key: K, value: V, until: number): void {
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) this.entries.clear();
    this.entries.set(key, { value, until });
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
