import type { Catalog, CatalogModel, ProviderInfo } from "../catalog";
import { suggestModels } from "../catalog";

export interface PlannedAttempt {
  model: CatalogModel;
  provider: ProviderInfo;
}

export interface Exclusion {
  model: string;
  provider?: string;
  reason: string;
}

export interface Plan {
  attempts: PlannedAttempt[];
  excluded: Exclusion[];
  /** Requested ids the catalog does not know, with the closest ids it does. */
  unknown: { model: string; suggestions: string[] }[];
}

export interface PlanInput {
  /** Requested models in order of preference (the model, then the `models` fallbacks). */
  models: string[];
  catalog: Catalog;
  /** Why a provider cannot take traffic now (unconfigured, disabled), or null when it can. */
  providerUnavailable: (providerId: string) => string | null;
}

/** (request, catalog, provider state) → ordered attempts, with the reason for every candidate left out. */
export function planAttempts(input: PlanInput): Plan {
  const plan: Plan = { attempts: [], excluded: [], unknown: [] };
  const seen = new Set<string>();
  for (const id of input.models) {
    if (seen.has(id)) continue;
    seen.add(id);
    const model = input.catalog.model(id);
    if (!model) {
      plan.unknown.push({ model: id, suggestions: suggestModels(input.catalog, id) });
      continue;
    }
    const provider = input.catalog.provider(model.provider);
    if (!provider) {
      plan.excluded.push({ model: id, provider: model.provider, reason: "provider not in catalog" });
      continue;
    }
    const unavailable = input.providerUnavailable(provider.id);
    if (unavailable) {
      plan.excluded.push({ model: id, provider: provider.id, reason: unavailable });
      continue;
    }
    plan.attempts.push({ model, provider });
  }
  return plan;
}

/** The message of the error returned when a plan has no attempts. */
export function describeEmptyPlan(plan: Plan): { code: "model_not_found" | "no_route"; message: string } {
  if (plan.excluded.length === 0 && plan.unknown.length > 0) {
    const u = plan.unknown[0]!;
    const hint = u.suggestions.length ? `; did you mean ${u.suggestions.join(", ")}?` : "";
    return { code: "model_not_found", message: `model ${u.model} is not in the catalog${hint}` };
  }
  const parts = [
    ...plan.unknown.map((u) => `${u.model}: not in the catalog`),
    ...plan.excluded.map((e) => `${e.model}${e.provider ? ` via ${e.provider}` : ""}: ${e.reason}`),
  ];
  return { code: "no_route", message: `no provider can serve this request (${parts.join("; ")})` };
}
