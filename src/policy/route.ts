import { GatewayError } from "../core/errors";
import { Timeouts, type PolicyDocument } from "./schema";

/**
 * A request's routing fields (OpenRouter's `models`, `provider{...}`, `:nitro` / `:floor`) merged under the
 * team policy and the calling key's override. The rule: a request can narrow what the policy allows, never
 * widen it. Denials add up, allow-lists intersect, data requirements are the stricter of the two, and the
 * timeouts and retry budget of a policy are ceilings a request may lower. Pure: plain values in and out.
 * (`provider.require_parameters` is applied after planning, by providers/capabilities.ts.)
 */
export type Sort = "price" | "latency" | "throughput";
export type TimeoutName = "headers" | "first_token" | "idle" | "total";
export type TimeoutSettings = Partial<Record<TimeoutName, number>>;

/** One requested model (or alias), with the catalog ids it stands for. */
export interface RouteEntry {
  requested: string;
  /** The alias's targets, or the one id asked for (suffix removed). */
  targets: { id: string; weight?: number }[];
  /** Set when `requested` is an alias of the team's policy. */
  alias?: string;
  /** Weighted alias: the first target is drawn by weight, the rest follow by weight. */
  weighted: boolean;
  /** `:nitro` → throughput, `:floor` → price. */
  suffixSort?: Sort;
}

export interface AllowDenyLists {
  allow: string[];
  deny: string[];
}

export interface Route {
  entries: RouteEntry[];
  sort?: Sort;
  /** Providers to try first, in this order. */
  order: string[];
  /** Only these providers (null: any). */
  only: string[] | null;
  ignore: string[];
  allowFallbacks: boolean;
  /** Who asked for each data requirement: the team's policy or the request (null: nobody). */
  denyDataCollection: "policy" | "request" | null;
  requireZdr: "policy" | "request" | null;
  regions: string[];
  /** Dollars per million tokens, as OpenRouter's `max_price`. */
  maxPrice: { prompt?: number; completion?: number };
  team: { models: AllowDenyLists; providers: AllowDenyLists };
  key: { models: AllowDenyLists; providers: AllowDenyLists } | null;
  retries: number;
  /** Explicit timeouts (policy, lowered by the request); defaults fill the gaps per model. */
  timeouts: TimeoutSettings;
  /** The policy's own timeouts: a limit of `timeouts` below these (or the defaults) is the client's. */
  gatewayTimeouts: TimeoutSettings;
  continueOnCut: boolean;
}

export interface RoutingFields {
  /** The model, then `models[]`, as sent. */
  models: string[];
  /** OpenRouter's `provider` object as sent (plus the `timeouts_ms` extension). */
  provider?: Record<string, unknown>;
}

const SUFFIX_SORT: Record<string, Sort> = { nitro: "throughput", floor: "price" };

/** "openai/gpt-4o:nitro" → ["openai/gpt-4o", "throughput"]. Other suffixes are part of the id. */
export function splitSuffix(id: string): [string, Sort | undefined] {
  const i = id.lastIndexOf(":");
  if (i <= 0) return [id, undefined];
  const sort = SUFFIX_SORT[id.slice(i + 1).toLowerCase()];
  return sort ? [id.slice(0, i), sort] : [id, undefined];
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : undefined;
}

function price(v: unknown): number | undefined {
  const n = typeof v === "string" ? Number(v) : typeof v === "number" ? v : NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function lists(x: { allow?: string[]; deny?: string[] } | undefined): AllowDenyLists {
  return { allow: x?.allow ?? [], deny: x?.deny ?? [] };
}

/** Lower of two optional ceilings. */
function lower(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

export function resolveRoute(policy: PolicyDocument, keyId: string | null, req: RoutingFields): Route {
  const p = req.provider ?? {};
  const entries: RouteEntry[] = req.models.map((requested) => {
    const [id, suffixSort] = splitSuffix(requested);
    const alias = policy.aliases[id];
    if (!alias) return { requested, targets: [{ id }], weighted: false, suffixSort };
    const weighted = alias.some((t) => typeof t === "object");
    const targets = alias.map((t) => (typeof t === "string" ? { id: t } : { id: t.model, weight: t.weight }));
    return { requested, targets, alias: id, weighted, suffixSort };
  });

  let rt: TimeoutSettings = {};
  if (p.timeouts_ms !== undefined) {
    const parsed = Timeouts.safeParse(p.timeouts_ms);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new GatewayError("bad_request", `provider.timeouts_ms${issue.path.length ? "." + issue.path.join(".") : ""}: ${issue.message}`);
    }
    rt = parsed.data;
  }
  const pt = policy.routing.timeouts_ms;
  const timeouts: TimeoutSettings = {};
  for (const name of ["headers", "first_token", "idle", "total"] as const) {
    const v = lower(pt[name], rt[name]);
    if (v !== undefined) timeouts[name] = v;
  }

  const override = keyId ? policy.keys[keyId] : undefined;
  const requestRetries = typeof p.retries === "number" && Number.isInteger(p.retries) && p.retries >= 0 ? p.retries : undefined;
  const maxPrice = (p.max_price ?? {}) as Record<string, unknown>;

  return {
    entries,
    sort: (p.sort as Sort | undefined) ?? entries.find((e) => e.suffixSort)?.suffixSort ?? policy.routing.sort,
    order: strings(p.order) ?? policy.routing.order ?? [],
    only: strings(p.only) ?? null,
    ignore: strings(p.ignore) ?? [],
    allowFallbacks: policy.routing.allow_fallbacks && p.allow_fallbacks !== false,
    denyDataCollection: policy.data.data_collection === "deny" ? "policy" : p.data_collection === "deny" ? "request" : null,
    requireZdr: policy.data.zdr ? "policy" : p.zdr === true ? "request" : null,
    regions: policy.data.regions,
    maxPrice: { prompt: price(maxPrice.prompt), completion: price(maxPrice.completion) },
    team: { models: lists(policy.models), providers: lists(policy.providers) },
    key: override ? { models: lists(override.models), providers: lists(override.providers) } : null,
    retries: lower(policy.routing.retries, requestRetries)!,
    timeouts,
    gatewayTimeouts: pt,
    continueOnCut: policy.routing.continue_on_cut,
  };
}
