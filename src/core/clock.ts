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
let breakers: () => number = system.now;

/** The time circuit breakers, probe claims and plans go by. */
export function now(): number {
  return breakers();
}

/** The time timers go by: time limits, pauses, slices' windows, the latencies measured against them. */
export function timerNow(): number {
  return clock.now();
}

export function setTimer(fn: () => void, ms: number): Timer {
  return clock.setTimeout(fn, ms);
}

export function clearTimer(timer: Timer): void {
  clock.clearTimeout(timer);
}

/**
 * Tests only: a whole Clock replaces the time and the timers; a bare function holds the breakers' time only
 * (time limits keep running on the runtime's clock, so requests made meanwhile behave as usual). `null`
 * gives the runtime's clock back.
 */
export function setClock(c: Clock | (() => number) | null): void {
  if (c === null) [clock, breakers] = [system, system.now];
  else if (typeof c === "function") breakers = c;
  else [clock, breakers] = [c, () => c.now()];
}
