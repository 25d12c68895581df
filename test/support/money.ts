/**
 * Expected costs for tests, computed from the catalog's price strings with BigInt, independently of the
 * gateway's own arithmetic (src/ledger/cost.ts), so a mistake there cannot hide in both.
 */
import { builtinCatalog, type ModelPricing } from "../../src/catalog";

/** Decimal dollars as integer picodollars. */
export function picodollars(usd: string): bigint {
  const [whole, frac = ""] = usd.split(".");
  if (frac.length > 12) throw new Error(`${usd}: finer than a picodollar`);
  return BigInt(whole!) * 10n ** 12n + BigInt(frac.padEnd(12, "0"));
}

export function dollars(pico: bigint): string {
  return `${pico / 10n ** 12n}.${(pico % 10n ** 12n).toString().padStart(12, "0")}`;
}

/**
 * The exact cost (decimal dollars, 12 places) of a request to a catalog model: uncached prompt, cache reads,
 * cache writes, plain completion and reasoning at their prices (falling back to prompt / completion), plus the
 * per-request price.
 */
export function expectedCost(modelId: string, t: TokenUse): string {
  return costAt(builtinCatalog.model(modelId)!.pricing, t);
}

/** Tokens of one request, as a test states them. */
export interface TokenUse {
  prompt: number;
  completion: number;
  cached?: number;
  cacheWrite?: number;
  reasoning?: number;
}

/** The exact cost in picodollars of `t` at `p` (a catalog or config pricing). */
export function costPicodollars(p: ModelPricing, t: TokenUse): bigint {
  const prompt = picodollars(p.prompt);
  const completion = picodollars(p.completion);
  const cached = BigInt(t.cached ?? 0);
  const cw = BigInt(t.cacheWrite ?? 0);
  const reasoning = BigInt(t.reasoning ?? 0);
  return (
    (BigInt(t.prompt) - cached - cw) * prompt +
    cached * (p.input_cache_read ? picodollars(p.input_cache_read) : prompt) +
    cw * (p.input_cache_write ? picodollars(p.input_cache_write) : prompt) +
    (BigInt(t.completion) - reasoning) * completion +
    reasoning * (p.internal_reasoning ? picodollars(p.internal_reasoning) : completion) +
    (p.request ? picodollars(p.request) : 0n)
  );
}

/** The exact cost (decimal dollars, 12 places) of `t` at `p` (a catalog or config pricing). */
export function costAt(p: ModelPricing, t: TokenUse): string {
  return dollars(costPicodollars(p, t));
}

/** Sums decimal dollar strings exactly. */
export function sumDollars(values: string[]): string {
  return dollars(values.reduce((s, v) => s + picodollars(v), 0n));
}
