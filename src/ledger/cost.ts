import type { ModelPricing } from "../catalog/types";

/**
 * Money is integer picodollars (1e-12 USD): fine enough that every catalog price per token is a whole
 * number, so a request's cost is exact. One request's cost fits a JS number (< 2^53 pUSD ≈ $9,007);
 * sums are BigInt in JS and INTEGER (int64, ≈ $9.2M) in SQLite.
 */
const SUBUNIT_DIGITS = 12;
const SUBUNITS_PER_USD = 10n ** BigInt(SUBUNIT_DIGITS);

/**
 * The token counts every request carries, in the order the ledger stores and reports them: prompt_tokens
 * includes cached_tokens and cache_write_tokens, completion_tokens includes reasoning_tokens, as OpenRouter
 * counts. The types, the ledger's SQL (sums, inserts, upserts) and its row mappers are derived from this list.
 */
export const TOKEN_FIELDS = ["prompt_tokens", "completion_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens"] as const;
export type TokenField = (typeof TOKEN_FIELDS)[number];
/** The five counts alone (a stored row's columns, a usage total). */
export type TokenColumns = Record<TokenField, number>;

export interface TokenCounts extends TokenColumns {
  /** Anthropic web searches the provider ran (usage.server_tool_use.web_search_requests), when any. */
  web_search_requests?: number;
}

export const ZERO_TOKENS: Readonly<TokenColumns> = Object.freeze(Object.fromEntries(TOKEN_FIELDS.map((f) => [f, 0])) as TokenColumns);

/** The five counts of `t`, in TOKEN_FIELDS order (anything else it carries left behind). */
export function tokenColumns(t: TokenColumns): TokenColumns {
  const out = {} as TokenColumns;
  for (const f of TOKEN_FIELDS) out[f] = t[f];
  return out;
}

/** Adds `t`'s counts into `into`. */
export function addTokens(into: TokenColumns, t: TokenColumns): void {
  for (const f of TOKEN_FIELDS) into[f] += t[f];
}

/** Prices of one catalog entry in picodollars, fallbacks applied. */
export interface SubunitPricing {
  prompt: bigint;
  completion: bigint;
  input_cache_read: bigint;
  input_cache_write: bigint;
  internal_reasoning: bigint;
  request: bigint;
  /** Per web search; 0 when the entry lists none (a request that searches is then refused, never served). */
  web_search: bigint;
}

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/** "0.00000015" (dollars) → 150000n (picodollars). Throws on anything not exactly representable. */
export function usdToSubunits(usd: string): bigint {
  const m = DECIMAL.exec(usd);
  if (!m) throw new Error(`not a decimal dollar amount: ${JSON.stringify(usd)}`);
  const whole = m[1]!;
  const frac = m[2] ?? "";
  if (frac.length > SUBUNIT_DIGITS && /[^0]/.test(frac.slice(SUBUNIT_DIGITS))) {
    throw new Error(`${usd} has more precision than 1e-${SUBUNIT_DIGITS} USD`);
  }
  return BigInt(whole) * SUBUNITS_PER_USD + BigInt(frac.slice(0, SUBUNIT_DIGITS).padEnd(SUBUNIT_DIGITS, "0"));
}

const parsed = new WeakMap<ModelPricing, SubunitPricing>();

export function subunitPricing(p: ModelPricing): SubunitPricing {
  let s = parsed.get(p);
  if (!s) {
    const prompt = usdToSubunits(p.prompt);
    const completion = usdToSubunits(p.completion);
    s = {
      prompt,
      completion,
      input_cache_read: p.input_cache_read === undefined ? prompt : usdToSubunits(p.input_cache_read),
      input_cache_write: p.input_cache_write === undefined ? prompt : usdToSubunits(p.input_cache_write),
      internal_reasoning: p.internal_reasoning === undefined ? completion : usdToSubunits(p.internal_reasoning),
      request: p.request === undefined ? 0n : usdToSubunits(p.request),
      web_search: p.web_search === undefined ? 0n : usdToSubunits(p.web_search),
    };
    parsed.set(p, s);
  }
  return s;
}

/**
 *   (prompt − cached − cache_write) × prompt + cached × input_cache_read + cache_write × input_cache_write
 * + (completion − reasoning) × completion + reasoning × internal_reasoning + request
 * + web searches × web_search
 */
export function costOf(t: TokenCounts, pricing: ModelPricing): bigint {
  const p = subunitPricing(pricing);
  const uncachedPrompt = Math.max(0, t.prompt_tokens - t.cached_tokens - t.cache_write_tokens);
  const plainCompletion = Math.max(0, t.completion_tokens - t.reasoning_tokens);
  return (
    BigInt(uncachedPrompt) * p.prompt +
    BigInt(t.cached_tokens) * p.input_cache_read +
    BigInt(t.cache_write_tokens) * p.input_cache_write +
    BigInt(plainCompletion) * p.completion +
    BigInt(t.reasoning_tokens) * p.internal_reasoning +
    p.request +
    BigInt(t.web_search_requests ?? 0) * p.web_search
  );
}

/** Exact decimal dollars with every sub-unit digit: 150000n → "0.000000150000". */
export function formatUsd(subunits: bigint): string {
  const neg = subunits < 0n;
  const abs = neg ? -subunits : subunits;
  const whole = abs / SUBUNITS_PER_USD;
  const frac = (abs % SUBUNITS_PER_USD).toString().padStart(SUBUNIT_DIGITS, "0");
  return `${neg ? "-" : ""}${whole}.${frac}`;
}

/** Dollars as a JS number, for the `cost` fields clients read. */
export function usdNumber(subunits: bigint): number {
  return Number(formatUsd(subunits));
}

/** A per-request cost as a JS number of picodollars (stored per event); refuses what a number cannot hold. */
export function toSafeSubunits(subunits: bigint): number {
  if (subunits > BigInt(Number.MAX_SAFE_INTEGER) || subunits < 0n) {
    throw new Error(`cost ${subunits} pUSD out of range for one request`);
  }
  return Number(subunits);
}
