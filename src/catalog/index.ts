import { BUILTIN_MODELS, BUILTIN_PROVIDERS } from "./builtin";
import type { CatalogModel, ProviderInfo } from "./types";

export type { CatalogModel, ModelKind, ProviderInfo, ModelPricing, WireFormat } from "./types";

/** The models and providers the gateway can route to: built in, extended by admin config. */
export interface Catalog {
  models: readonly CatalogModel[];
  providers: readonly ProviderInfo[];
  model(id: string): CatalogModel | undefined;
  provider(id: string): ProviderInfo | undefined;
}

export function buildCatalog(models: readonly CatalogModel[], providers: readonly ProviderInfo[]): Catalog {
  const byId = new Map(models.map((m) => [m.id, m]));
  const providerById = new Map(providers.map((p) => [p.id, p]));
  return {
    models,
    providers,
    model: (id) => byId.get(id),
    provider: (id) => providerById.get(id),
  };
}

export const builtinCatalog: Catalog = buildCatalog(BUILTIN_MODELS, BUILTIN_PROVIDERS);

/** Up to `n` catalog ids closest to `id` (edit distance over the id, then the model part), for 404s. */
export function suggestModels(catalog: Catalog, id: string, n = 3): string[] {
  const target = id.toLowerCase();
  const tail = target.includes("/") ? target.slice(target.indexOf("/") + 1) : target;
  return catalog.models
    .map((m) => {
      const mid = m.id.toLowerCase();
      const mtail = mid.slice(mid.indexOf("/") + 1);
      const contains = mid.includes(tail) || tail.includes(mtail) ? -2 : 0;
      return { id: m.id, d: Math.min(editDistance(target, mid), editDistance(tail, mtail)) + contains };
    })
    .sort((a, b) => a.d - b.d || a.id.localeCompare(b.id))
    .slice(0, n)
    .map((x) => x.id);
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}
