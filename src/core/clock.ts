/**
 * The time and the timers that routing and allowances go by: circuit breakers and probe claims, the attempt
 * loop's time limits and retry pauses, budget and rate slices, a stream's idle watch. It is `Date.now()` and
 * `setTimeout`; tests of time-driven state set their own clock and move it, instead of sleeping on the wall
 * clock, so that a busy machine cannot make them see the wrong moment.
 */
export type Timer = ReturnType<typeof setTimeout>;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer): void;
}

const system: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer),
};

let clock: Clock = system;

export function now(): number {
  return clock.now();
}

export function setTimer(fn: () => void, ms: number): Timer {
  return clock.setTimeout(fn, ms);
}

export function clearTimer(timer: Timer): void {
  clock.clearTimeout(timer);
}

/**
 * Tests only: reads time (and, given a whole Clock, sets timers) from `c` until called again with `null`.
 * A bare function replaces the time only; timers stay the runtime's.
 */
export function setClock(c: Clock | (() => number) | null): void {
  clock = c === null ? system : typeof c === "function" ? { ...system, now: c } : c;
}
