import type { Catalog, CatalogModel, ProviderInfo } from "../catalog";
import { suggestModels } from "../catalog";
import { GatewayError } from "../core/errors";
import { firstMatch } from "../core/glob";
import type { AllowDenyLists, Route, RouteEntry, Sort } from "../policy/route";
import type { HealthView } from "./circuit";

export interface PlannedAttempt {
  model: CatalogModel;
  provider: ProviderInfo;
}

/** Who ruled a candidate out: the team's policy (or the key's override), the request, or provider health. */
export type ExclusionSource = "policy" | "request" | "health";

export interface Exclusion {
  model: string;
  provider?: string;
  reason: string;
  /** Absent when the provider cannot take traffic at all (unconfigured, no translation). */
  by?: ExclusionSource;
  /** Health exclusions: when the circuit lets a probe through. */
  retry_at?: number;
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
  providerUnavailable: (provider: ProviderInfo) => string | null;
  /** The request's routing fields merged under the team policy; absent: no policy, request order. */
  route?: Route;
  /** Circuit state and moving averages per provider+model. */
  health?: (provider: string, model: string) => HealthView | undefined;
  /** For weighted aliases (tests pass a fixed one). */
  random?: () => number;
  now?: number;
}

interface Candidate {
  model: CatalogModel;
  provider: ProviderInfo;
}

/**
 * (request, policy, catalog, health) → ordered attempts, with the reason for every candidate left out.
 * Each requested model (or alias) is a group of candidates; groups keep the request's order, candidates
 * within a group follow `provider.order`, then the sort (price, latency, throughput) or the alias's order
 * or weights.
 */
export function planAttempts(input: PlanInput): Plan {
  const plan: Plan = { attempts: [], excluded: [], unknown: [] };
  const route = input.route;
  const entries: RouteEntry[] = route?.entries ?? input.models.map((m) => ({ requested: m, targets: [{ id: m }], weighted: false }));
  const seen = new Set<string>();
  const random = input.random ?? Math.random;
  const now = input.now ?? Date.now();

  for (const entry of entries) {
    const group: { c: Candidate; weight: number }[] = [];
    for (const t of entry.targets) {
      const models = endpoints(input.catalog, t.id);
      if (models.length === 0) {
        if (!plan.unknown.some((u) => u.model === t.id)) plan.unknown.push({ model: t.id, suggestions: suggestModels(input.catalog, t.id) });
        continue;
      }
      for (const model of models) {
        if (seen.has(model.id)) continue;
        seen.add(model.id);
        const provider = input.catalog.provider(model.provider);
        if (!provider) {
          plan.excluded.push({ model: model.id, provider: model.provider, reason: "provider not in catalog" });
          continue;
        }
        const why = route ? ruledOut(route, model, provider, entry.requested) : null;
        if (why) {
          plan.excluded.push({ model: model.id, provider: provider.id, ...why });
          continue;
        }
        const unavailable = input.providerUnavailable(provider);
        if (unavailable) {
          plan.excluded.push({ model: model.id, provider: provider.id, reason: unavailable });
          continue;
        }
        group.push({ c: { model, provider }, weight: t.weight ?? 0 });
      }
    }
    let ordered = orderGroup(group, entry, route, input.health, random);
    if (route && !route.allowFallbacks && ordered.length > 1) {
      const keep = route.order.length > 0 ? ordered.filter((c) => inList(route.order, c.provider)) : ordered.slice(0, 1);
      for (const c of ordered) {
        if (!keep.includes(c)) plan.excluded.push({ model: c.model.id, provider: c.provider.id, reason: "a fallback, and fallbacks are off (allow_fallbacks: false)", by: "request" });
      }
      ordered = keep.length > 0 ? keep : ordered.slice(0, 1);
    }
    for (const c of ordered) {
      const h = input.health?.(c.provider.id, c.model.id);
      if (h && (h.circuit === "open" || h.circuit === "probing")) {
        const reason =
          h.circuit === "open"
            ? `circuit open after repeated failures (next probe in ${Math.max(1, Math.ceil(((h.retryAt ?? now) - now) / 1000))} s)`
            : "circuit half-open, a probe is in flight";
        plan.excluded.push({ model: c.model.id, provider: c.provider.id, reason, by: "health", retry_at: h.retryAt });
        continue;
      }
      plan.attempts.push(c);
    }
  }
  return plan;
}

/** The catalog entries a requested id stands for: itself, or the same model at each provider that hosts it. */
function endpoints(catalog: Catalog, id: string): CatalogModel[] {
  const exact = catalog.model(id);
  if (exact) return [exact];
  return catalog.models.filter((m) => m.id === `${m.provider}/${id}`);
}

function inList(list: readonly string[], p: ProviderInfo): boolean {
  return list.some((x) => x.toLowerCase() === p.id || x.toLowerCase() === p.name.toLowerCase());
}

function listsRuleOut(lists: AllowDenyLists, whose: string, field: string, ...values: string[]): string | null {
  const denied = firstMatch(lists.deny, ...values);
  if (denied) return `denied by ${whose} (${field}.deny "${denied}")`;
  if (lists.allow.length > 0 && !firstMatch(lists.allow, ...values)) return `not allowed by ${whose} (${field}.allow)`;
  return null;
}

const perMillion = (usdPerToken: string) => Number(usdPerToken) * 1e6;
const fmt = (n: number) => `$${Number(n.toPrecision(6))}/M`;

/** Why the policy or the request rules a candidate out, or null. */
function ruledOut(route: Route, model: CatalogModel, provider: ProviderInfo, requested: string): Omit<Exclusion, "model" | "provider"> | null {
  const policy = (reason: string) => ({ reason, by: "policy" as const });
  const request = (reason: string) => ({ reason, by: "request" as const });
  const scopes = [["team policy", route.team] as const, ...(route.key ? [["key policy", route.key] as const] : [])];
  for (const [whose, lists] of scopes) {
    const m = listsRuleOut(lists.models, whose, "models", model.id, requested);
    if (m) return policy(m);
    const p = listsRuleOut(lists.providers, whose, "providers", provider.id);
    if (p) return policy(p);
  }
  const dp = provider.data_policy;
  if (route.denyDataCollection && dp.training) {
    const r = `provider may train on data (data_collection: deny${route.denyDataCollection === "request" ? " in the request" : ""})`;
    return route.denyDataCollection === "policy" ? policy(r) : request(r);
  }
  if (route.requireZdr && !dp.zdr) {
    const r = "provider does not offer zero data retention (zdr)";
    return route.requireZdr === "policy" ? policy(r) : request(r);
  }
  if (route.regions.length > 0) {
    const allowed = route.regions.map((r) => r.toLowerCase());
    if (dp.regions.length === 0) return policy(`provider's data region is unspecified (allowed regions: ${route.regions.join(", ")})`);
    const outside = dp.regions.filter((r) => !allowed.includes(r.toLowerCase()));
    if (outside.length > 0) return policy(`provider processes data in ${outside.join(", ")} (allowed regions: ${route.regions.join(", ")})`);
  }
  if (route.only && !inList(route.only, provider)) return request("not in provider.only");
  if (inList(route.ignore, provider)) return request("in provider.ignore");
  const mp = route.maxPrice;
  if (mp.prompt !== undefined && perMillion(model.pricing.prompt) > mp.prompt) {
    return request(`over max_price (prompt ${fmt(perMillion(model.pricing.prompt))} > ${fmt(mp.prompt)})`);
  }
  if (mp.completion !== undefined && perMillion(model.pricing.completion) > mp.completion) {
    return request(`over max_price (completion ${fmt(perMillion(model.pricing.completion))} > ${fmt(mp.completion)})`);
  }
  return null;
}

function sortKey(sort: Sort, c: Candidate, health: PlanInput["health"]): number {
  if (sort === "price") return Number(c.model.pricing.prompt) + Number(c.model.pricing.completion);
  const h = health?.(c.provider.id, c.model.id);
  // Unmeasured candidates go last, in their given order.
  if (sort === "latency") return h?.latencyMs ?? Infinity;
  return h?.throughput != null ? -h.throughput : Infinity;
}

function orderGroup(
  group: { c: Candidate; weight: number }[],
  entry: RouteEntry,
  route: Route | undefined,
  health: PlanInput["health"],
  random: () => number,
): Candidate[] {
  let items = group;
  const sort = entry.suffixSort ?? route?.sort;
  if (sort) {
    const keyed = items.map((x) => ({ x, k: sortKey(sort, x.c, health) }));
    keyed.sort((a, b) => (a.k === b.k ? 0 : a.k < b.k ? -1 : 1));
    items = keyed.map((k) => k.x);
  } else if (entry.weighted && items.length > 1) {
    const total = items.reduce((s, x) => s + x.weight, 0);
    let r = random() * total;
    const first = items.find((x) => (r -= x.weight) < 0) ?? items[items.length - 1]!;
    items = [first, ...items.filter((x) => x !== first).sort((a, b) => b.weight - a.weight)];
  }
  const out = items.map((x) => x.c);
  const order = route?.order ?? [];
  if (order.length === 0) return out;
  const rank = (c: Candidate) => {
    const i = order.findIndex((o) => o.toLowerCase() === c.provider.id || o.toLowerCase() === c.provider.name.toLowerCase());
    return i === -1 ? order.length : i;
  };
  return out.map((c, i) => ({ c, i })).sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i).map((x) => x.c);
}

/** The message of the error returned when a plan has no attempts. */
export function describeEmptyPlan(plan: Plan): { code: "model_not_found" | "no_route" | "policy_denied" | "unavailable"; message: string } {
  if (plan.excluded.length === 0 && plan.unknown.length > 0) {
    const u = plan.unknown[0]!;
    const hint = u.suggestions.length ? `; did you mean ${u.suggestions.join(", ")}?` : "";
    return { code: "model_not_found", message: `model ${u.model} is not in the catalog${hint}` };
  }
  const parts = [
    ...plan.unknown.map((u) => `${u.model}: not in the catalog`),
    ...plan.excluded.map((e) => `${e.model}${e.provider ? ` via ${e.provider}` : ""}: ${e.reason}`),
  ];
  const all = (by: ExclusionSource) => plan.unknown.length === 0 && plan.excluded.length > 0 && plan.excluded.every((e) => e.by === by);
  if (all("policy")) return { code: "policy_denied", message: `the team's policy allows none of the candidates (${parts.join("; ")})` };
  if (all("health")) return { code: "unavailable", message: `every candidate is failing; try again shortly (${parts.join("; ")})` };
  return { code: "no_route", message: `no provider can serve this request (${parts.join("; ")})` };
}

/** The client's error for a plan with no attempts: 404, 403 when the policy denied everything, 503 + Retry-After when only open circuits stand in the way. */
export function emptyPlanError(plan: Plan, now = Date.now()): GatewayError {
  const { code, message } = describeEmptyPlan(plan);
  const headers: Record<string, string> = {};
  if (code === "unavailable") {
    const soonest = Math.min(...plan.excluded.map((e) => e.retry_at ?? now));
    headers["retry-after"] = String(Math.max(1, Math.ceil((soonest - now) / 1000)));
  }
  const excluded = plan.excluded.map(({ retry_at: _, ...e }) => e);
  return new GatewayError(code, message, { headers, details: { excluded, unknown: plan.unknown } });
}
