/**
 * A per-isolate cache of values loaded from storage (keys, policies, the catalog): each value is kept until
 * its time is up, and the number of entries is bounded (past the bound the cache starts over: an isolate that
 * sees that many distinct keys is being sprayed, and every entry can be loaded again).
 *
 * Callers that miss together each load on their own. Sharing one load would have one request await a promise
 * another request's I/O settles: the runtime ties that I/O to its request, and when that request is
 * cancelled (its client hung up) the load never settles and every request waiting on it hangs. A miss costs
 * one KV read per request for the moment it takes the first load to land, and then no more.
 *
 * Times are the caller's `now` (epoch ms), not core/clock.ts: tests that move the circuit breakers' clock must
 * not freeze or expire these. A warm hit never awaits: `fresh` is synchronous, and `get` answers a hit before
 * anything else.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; until: number }>();

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
   * The fresh value, or the one this caller's own `load` gives, kept for `ttlMs()` from `now` (0: not reused).
   * A load that fails keeps nothing.
   */
  async get(key: K, now: number, ttlMs: () => number, load: () => Promise<V>): Promise<V> {
    const e = this.entries.get(key);
    if (e !== undefined && e.until > now) return e.value;
    const value = await load();
    this.set(key, value, now + ttlMs());
    return value;
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
