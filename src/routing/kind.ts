import type { Catalog, ModelKind } from "../catalog";
import { GatewayError } from "../core/errors";
import type { Exclusion, Plan } from "./plan";

/** Why a model of the other kind cannot serve an endpoint's request. */
const WRONG_KIND: Record<ModelKind, string> = {
  chat: "an embedding model: send it to POST /v1/embeddings",
  embedding: "a chat model, not an embedding model (GET /v1/models marks embedding models with output_modalities [\"embeddings\"])",
};

const kindOf = (catalog: Catalog, id: string): ModelKind => catalog.model(id)?.kind ?? "chat";

/**
 * Keeps the attempts whose model is of the endpoint's kind (chat models for chat, embedding models for
 * embeddings); the others are excluded, with the reason. When every candidate the request named is of the
 * other kind, the request itself is wrong: 400, saying which endpoint its model belongs to.
 */
export function keepKind(plan: Plan, catalog: Catalog, kind: ModelKind): Plan {
  if (plan.attempts.length > 0 && plan.attempts.every((a) => (a.model.kind ?? "chat") === kind)) return plan;
  const wrong: Exclusion[] = [];
  const excluded: Exclusion[] = [];
  const reason = WRONG_KIND[kind];
  for (const a of plan.attempts) {
    if ((a.model.kind ?? "chat") !== kind) wrong.push({ model: a.model.id, provider: a.provider.id, reason, by: "request" });
  }
  // A candidate of the other kind left out for another reason (policy, an unconfigured provider) is left out
  // for its kind first: that is what the client can act on.
  for (const e of plan.excluded) {
    if (kindOf(catalog, e.model) === kind) excluded.push(e);
    else wrong.push({ model: e.model, provider: e.provider, reason, by: "request" });
  }
  const attempts = plan.attempts.filter((a) => (a.model.kind ?? "chat") === kind);
  if (attempts.length === 0 && wrong.length > 0 && excluded.length === 0 && plan.unknown.length === 0) {
    throw new GatewayError("bad_request", `${wrong[0]!.model} is ${reason}`, { details: { excluded: wrong } });
  }
  return { ...plan, attempts, excluded: [...excluded, ...wrong] };
}
