import * as z from "zod";
import { decimalAmount } from "../core/decimal";
import { PRICED_PREMIUM_FEATURES, UNPRICED_PREMIUM_FEATURES } from "../providers/premium";

/**
 * A team's policy document, shared by the Worker and the CLI (`switchyard policy validate|push`).
 * Unknown fields are rejected with their path; fields may be added, never renamed.
 */
const Glob = z.string().min(1).max(200);
const ModelId = z.string().min(3).max(200).regex(/^[A-Za-z0-9._-]+\/[A-Za-z0-9._:/-]+$/, "expected provider/model");
const UsdAmount = decimalAmount('a dollar amount with at most 12 decimals, e.g. "5.00" or 5');

const AllowDeny = z.strictObject({
  allow: z.array(Glob).default([]),
  deny: z.array(Glob).default([]),
});

export const Timeouts = z.strictObject({
  headers: z.number().int().positive().max(600_000).optional(),
  first_token: z.number().int().positive().max(600_000).optional(),
  idle: z.number().int().positive().max(600_000).optional(),
  total: z.number().int().positive().max(3_600_000).optional(),
});

/** An alias target: an ordered list of models, or weighted choices. */
const AliasTarget = z.union([
  z.array(ModelId).min(1),
  z.array(z.strictObject({ model: ModelId, weight: z.number().positive() })).min(1),
]);

export const Routing = z.strictObject({
  sort: z.enum(["price", "latency", "throughput"]).optional(),
  order: z.array(z.string()).optional(),
  allow_fallbacks: z.boolean().default(true),
  retries: z.number().int().min(0).max(10).default(2),
  timeouts_ms: Timeouts.default({}),
  /** Continue a stream that died mid-answer on a fallback model with the text so far as prefill. */
  continue_on_cut: z.boolean().default(false),
});

export const DataPolicy = z.strictObject({
  data_collection: z.enum(["allow", "deny"]).default("allow"),
  zdr: z.boolean().default(false),
  regions: z.array(z.string().min(2).max(16)).default([]),
  /** Store prompts and completions with the usage records (off by default). */
  log_prompts: z.boolean().default(false),
});

export const Budget = z.strictObject({
  scope: z.enum(["team", "key", "user"]),
  /** For scope key: one key; omitted = every key of the team gets this limit. */
  key_id: z.string().optional(),
  /** For scope user: one end user; omitted = every end user gets this limit. */
  user: z.string().optional(),
  period: z.enum(["day", "week", "month", "total"]),
  limit_usd: UsdAmount,
});

export const RateLimit = z.strictObject({
  scope: z.enum(["key", "team"]),
  key_id: z.string().optional(),
  rpm: z.number().int().positive().optional(),
  tpm: z.number().int().positive().optional(),
});

/**
 * Features a provider bills beyond its token prices. Served only when the team's policy allows them and the
 * gateway can price them from the provider's usage report; the others are always refused.
 */

const PricedFeature = z.string().superRefine((v, ctx) => {
  if ((PRICED_PREMIUM_FEATURES as readonly string[]).includes(v)) return;
  const why = (UNPRICED_PREMIUM_FEATURES as readonly string[]).includes(v) ? `the gateway cannot price ${v}, so it stays refused` : `unknown feature ${v}`;
  ctx.addIssue({ code: "custom", message: `${why}; allowable: ${PRICED_PREMIUM_FEATURES.join(", ")}` });
});

export const Features = z.strictObject({
  /** Premium features this team's requests may use (billed as the provider reports them). */
  allow: z.array(PricedFeature).default([]),
});

export const KeyOverride = z.strictObject({
  models: AllowDeny.partial().optional(),
  providers: AllowDeny.partial().optional(),
});

export const PolicyDocument = z.strictObject({
  team: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/),
  models: AllowDeny.default({ allow: [], deny: [] }),
  providers: AllowDeny.default({ allow: [], deny: [] }),
  aliases: z.record(z.string().regex(/^[A-Za-z0-9._-]+$/), AliasTarget).default({}),
  routing: Routing.default({ allow_fallbacks: true, retries: 2, timeouts_ms: {}, continue_on_cut: false }),
  data: DataPolicy.default({ data_collection: "allow", zdr: false, regions: [], log_prompts: false }),
  budgets: z.array(Budget).default([]),
  rate_limits: z.array(RateLimit).default([]),
  features: Features.default({ allow: [] }),
  /** Per-key overrides; they can only narrow the team's policy. */
  keys: z.record(z.string(), KeyOverride).default({}),
});

export type PolicyDocument = z.output<typeof PolicyDocument>;

/** KV key of a team's current policy ({version, document}), written by `policy push`. */
export function policyKvKey(team: string): string {
  return `policy:${team}`;
}
export type PolicyInput = z.input<typeof PolicyDocument>;

/** The policy of a team that never pushed one: everything the gateway offers, default routing. */
export function defaultPolicy(team: string): PolicyDocument {
  return PolicyDocument.parse({ team });
}

/** Validates a document; errors name the path of each problem. */
export function validatePolicy(doc: unknown): { ok: true; policy: PolicyDocument } | { ok: false; errors: string[] } {
  const r = PolicyDocument.safeParse(doc);
  if (r.success) return { ok: true, policy: r.data };
  return {
    ok: false,
    errors: r.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(document)"}: ${i.message}`),
  };
}
