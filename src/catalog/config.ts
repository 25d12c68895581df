import { buildCatalog, type Catalog } from "./index";
import type { GatewayConfig } from "./config-schema";
import type { CatalogModel, ProviderInfo } from "./types";

/** The catalog with a gateway config merged in (its custom providers carry what their adapters need). */
export function mergeConfig(base: Catalog, cfg: GatewayConfig, pushedAt: string): Catalog {
  const providers: ProviderInfo[] = [...base.providers];
  for (const p of cfg.providers) {
    providers.push({
      id: p.id,
      name: p.name ?? p.id,
      format: "openai",
      default_base_url: p.base_url,
      data_policy: { training: p.data_collection === "allow", retention_days: p.zdr ? 0 : p.retention_days, zdr: p.zdr, regions: p.regions },
      price_page: "gateway config",
      prefill: p.prefill,
      custom: { key_var: p.api_key_secret, responses: p.responses ?? false },
    });
  }
  const byId = new Map<string, CatalogModel>(base.models.map((m) => [m.id, m]));
  for (const m of cfg.models) {
    const slash = m.id.indexOf("/");
    const provider = m.id.slice(0, slash);
    const prior = byId.get(m.id);
    const kind = m.kind ?? prior?.kind;
    // An embedding model generates nothing and takes only text, unless the config says otherwise.
    const embedding = kind === "embedding";
    byId.set(m.id, {
      id: m.id,
      ...(embedding ? { kind } : {}),
      provider,
      upstream_id: m.upstream_id ?? prior?.upstream_id ?? m.id.slice(slash + 1),
      name: m.name ?? prior?.name ?? m.id,
      context_length: m.context_length,
      max_output: m.max_output ?? prior?.max_output ?? (embedding ? 0 : m.context_length),
      pricing: m.pricing,
      capabilities: {
        tools: m.capabilities.tools ?? prior?.capabilities.tools ?? !embedding,
        vision: m.capabilities.vision ?? prior?.capabilities.vision ?? !embedding,
        json_mode: m.capabilities.json_mode ?? prior?.capabilities.json_mode ?? !embedding,
        reasoning: m.capabilities.reasoning ?? prior?.capabilities.reasoning ?? !embedding,
      },
      prices_as_of: m.prices_as_of ?? pushedAt,
    });
  }
  return buildCatalog([...byId.values()], providers);
}
