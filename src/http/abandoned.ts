import type { CatalogModel } from "../catalog/types";
import { costOf, toSafeSubunits, ZERO_TOKENS } from "../ledger/cost";
import type { UsageEvent } from "../ledger/event";
import { ESTIMATE_METHOD } from "../streaming/estimate";

/**
 * Adds to `event` the prompts of the attempts a provider was sent and the client gave up on (its own lower
 * time limit, or hanging up: routing/attempts.ts `onAbandoned`), estimated by `promptTokens`, each at its own
 * model's prices; returns what they cost. A provider that was sent a request is paid for its prompt.
 */
export function billAbandoned<A extends { model: CatalogModel }>(event: UsageEvent, abandoned: readonly A[], promptTokens: (a: A) => number): bigint {
  if (abandoned.length === 0) return 0n;
  let cost = 0n;
  for (const a of abandoned) {
    const prompt = promptTokens(a);
    cost += costOf({ ...ZERO_TOKENS, prompt_tokens: prompt }, a.model.pricing);
    event.prompt_tokens += prompt;
  }
  event.cost = toSafeSubunits(BigInt(event.cost) + cost);
  event.estimated = true;
  event.estimate_method = ESTIMATE_METHOD;
  return cost;
}
