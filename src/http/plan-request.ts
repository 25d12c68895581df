import type { Context } from "hono";
import { now as clockNow } from "../core/clock";
import { cachedCatalog, loadCatalog } from "../catalog/load";
import type { WireFormat } from "../catalog/types";
import { loadPolicy } from "../policy/load";
import { resolveRoute } from "../policy/route";
import { resolveProvider } from "../providers/registry";
import { healthLookup } from "../routing/health";
import { planAttempts } from "../routing/plan";
import type { HonoEnv } from "./app";

/**
 * The caller's team policy, the route it gives the requested models and routing fields, and the planned
 * attempts. Policy and catalog are cached in the isolate (no I/O once warm); health is read locally.
 * `cannotServe` rules out a configured provider by its wire format (null: it can serve).
 */
export async function planRequest(
  c: Context<HonoEnv>,
  models: string[],
  provider: Record<string, unknown> | undefined,
  cannotServe?: (format: WireFormat) => string | null,
) {
  const env = c.env;
  const caller = c.get("caller");
  const { policy } = await loadPolicy(env, caller.team);
  const route = resolveRoute(policy, caller.key?.id ?? null, { models, provider });
  const catalog = cachedCatalog() ?? (await loadCatalog(env));
  const plan = planAttempts({
    models,
    catalog,
    route,
    // Health goes by the circuits' clock (tests move it), as does the "next probe in" of a refusal.
    now: clockNow(),
    health: healthLookup(),
    providerUnavailable: (provider) => {
      const r = resolveProvider(env, provider);
      if ("unavailable" in r) return r.unavailable;
      return cannotServe?.(provider.format) ?? null;
    },
  });
  return { policy, route, plan, catalog };
}
