import { setClock, type Clock, type Timer } from "../../src/core/clock";

/**
 * A clock that moves only when a test moves it, with the timers set on it (src/core/clock.ts). `install()`
 * makes it the clock the code reads; `uninstall()` gives the runtime's back.
 */
export class ManualClock implements Clock {
  private timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;

  constructor(private t = 1_700_000_000_000) {}

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id as unknown as Timer;
  }

  clearTimeout(timer: Timer): void {
    this.timers.delete(timer as unknown as number);
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.timers.size;
  }

  /** When the next timer is due, or null. */
  get nextAt(): number | null {
    let at: number | null = null;
    for (const tm of this.timers.values()) if (at === null || tm.at < at) at = tm.at;
    return at;
  }

  install(): this {
    setClock(this);
    return this;
  }

  uninstall(): void {
    setClock(null);
  }

  /**
   * Moves time forward by `ms`, firing the timers that fall due in order, each at its own moment, and letting
   * the work they start run before the next one.
   */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    for (;;) {
      await settle();
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= target && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = target;
    await settle();
  }

  /** Moves time to the next timer and fires it (and any others due then). */
  async fireNext(): Promise<void> {
    const at = this.nextAt;
    if (at === null) throw new Error("no timer is set");
    await this.advance(at - this.t);
  }

  /**
   * Settles `p`, moving time from timer to timer whenever nothing else is left to run (the work under test
   * waits only on this clock and on in-memory streams). Time never moves while there is work to do.
   */
  async run<T>(p: Promise<T>, maxTimers = 100): Promise<T> {
    let done = false;
    const watched = p.finally(() => void (done = true));
    watched.catch(() => {});
    for (let fired = 0; ; fired++) {
      for (let i = 0; i < 10 && !done; i++) await settle();
      if (done) return watched;
      if (this.nextAt === null) throw new Error("stuck: the work waits on nothing this clock can fire");
      if (fired >= maxTimers) throw new Error(`still not settled after ${maxTimers} timers`);
      await this.fireNext();
    }
  }

  /**
   * Waits (on the runtime's event loop, not on this clock) until `cond` holds: for work that waits on real I/O
   * (a fetch, a stream) before it sets its next timer. Fails after `tries` turns.
   */
  async until(cond: () => boolean, tries = 2_000): Promise<void> {
    for (let i = 0; i < tries; i++) {
      if (cond()) return;
      await settle();
    }
    throw new Error("condition never held");
  }
}

/** Lets pending promise callbacks and I/O completions run: one turn of the event loop. */
export function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}
