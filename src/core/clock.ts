/**
 * The time the circuit breakers and probe claims go by. It is `Date.now()`; tests of time-driven state
 * (a circuit's open period, a probe claim's lapse) set their own clock and move it, instead of sleeping on
 * the wall clock, so that a busy machine cannot make them see the wrong moment.
 */
let source: () => number = Date.now;

export function now(): number {
  return source();
}

/** Tests only: reads time from `fn` until called again with `null`. */
export function setClock(fn: (() => number) | null): void {
  source = fn ?? Date.now;
}
