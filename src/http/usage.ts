import type { Context } from "hono";
import * as z from "zod";
import { formatUsd, tokenColumns, usdNumber } from "../ledger/cost";
import { budgetSpecs, rateSpecs } from "./request-hold";
import { loadPolicy } from "../policy/load";
import { USAGE_GROUPS, type UsageEvent, type UsageGroupRow, type UsageTotalsRow } from "../ledger/event";
import { ledgerClient } from "../ledger/client";
import type { HonoEnv } from "./app";
import { parseWith } from "./body";
import { GatewayError } from "../core/errors";


const DAY = /^\d{4}-\d{2}-\d{2}$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:\d{2})?$/;

const UsageParams = z.object({
  from: z.string().regex(new RegExp(`${DAY.source}|${INSTANT.source}`), "expected YYYY-MM-DD or an ISO date-time").optional(),
  to: z.string().regex(new RegExp(`${DAY.source}|${INSTANT.source}`), "expected YYYY-MM-DD or an ISO date-time").optional(),
  group_by: z
    .string()
    .optional()
    .transform((s, ctx) => {
      const groups = (s ?? "").split(",").map((g) => g.trim()).filter(Boolean);
      for (const g of groups) {
        if (!(USAGE_GROUPS as readonly string[]).includes(g)) {
          ctx.addIssue({ code: "custom", message: `unknown group ${g}; use ${USAGE_GROUPS.join(", ")}` });
          return z.NEVER;
        }
      }
      return [...new Set(groups)] as (typeof USAGE_GROUPS)[number][];
    }),
  key_id: z.string().optional(),
  user: z.string().optional(),
  model: z.string().optional(),
  provider: z.string().optional(),
  team: z.string().optional(),
});

/** An hour bucket "YYYY-MM-DDTHH" for a bound: a day covers its first (from) or last (to) hour. */
function hourBound(v: string, edge: "from" | "to"): string {
  if (DAY.test(v)) {
    // A calendar day that exists (2026-02-30 does not).
    const day = new Date(`${v}T00:00:00Z`);
    if (Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== v) {
      throw new GatewayError("bad_request", `${edge}: ${v} is not a date`, { details: { param: edge } });
    }
    return `${v}T${edge === "from" ? "00" : "23"}`;
  }
  const ms = Date.parse(/[Zz]|[+-]\d{2}:\d{2}$/.test(v) ? v : `${v}${v.length === 13 ? ":00" : ""}Z`);
  if (Number.isNaN(ms)) throw new GatewayError("bad_request", `${edge}: not a valid date-time`, { details: { param: edge } });
  return new Date(ms).toISOString().slice(0, 13);
}

function totalsOut(t: UsageTotalsRow) {
  const sub = BigInt(t.cost_subunits);
  return {
    requests: t.requests,
    ...tokenColumns(t),
    cost: Number(formatUsd(sub)),
    cost_exact: formatUsd(sub),
  };
}

/** GET /v1/usage: the team's spend over [from, to] (UTC, hourly resolution), grouped as asked. */
export async function usage(c: Context<HonoEnv>): Promise<Response> {
  const p = parseWith(UsageParams, c.req.query());
  const caller = c.get("caller");
  const now = new Date();
  const to = p.to ?? now.toISOString().slice(0, 10);
  const from = p.from ?? new Date(now.getTime() - 29 * 86_400_000).toISOString().slice(0, 10);
  const fromHour = hourBound(from, "from");
  const toHour = hourBound(to, "to");
  if (fromHour > toHour) throw new GatewayError("bad_request", "from is after to", { details: { param: "from" } });
  const r = await ledgerClient(c.env, caller.team).usage({
    from_hour: fromHour,
    to_hour: toHour,
    group_by: p.group_by,
    key_id: p.key_id,
    user: p.user,
    model: p.model,
    provider: p.provider,
  });
  return c.json({
    team: caller.team,
    from,
    to,
    group_by: p.group_by,
    totals: totalsOut(r.totals),
    groups: r.groups.map((g: UsageGroupRow) => {
      const keys = Object.fromEntries(p.group_by.map((k) => [k, g[k]]));
      return { ...keys, ...totalsOut(g) };
    }),
  });
}

export function generationOut(e: Omit<UsageEvent, "team">, team: string) {
  const cost = BigInt(e.cost);
  return {
    id: e.id,
    team,
    key_id: e.key_id,
    user: e.user,
    model: e.model,
    model_requested: e.model_requested,
    provider: e.provider,
    status: e.status,
    streamed: e.streamed,
    cancelled: e.cancelled,
    estimated: e.estimated,
    estimate_method: e.estimate_method ?? null,
    ...tokenColumns(e),
    cost: Number(formatUsd(cost)),
    cost_exact: formatUsd(cost),
    // The provider counted more than the request reserved: `cost` is what budgets were charged (the
    // reservation), `uncapped_cost` what the counts price at.
    capped: e.uncapped_cost != null,
    ...(e.uncapped_cost != null ? { uncapped_cost: Number(formatUsd(BigInt(e.uncapped_cost))), uncapped_cost_exact: formatUsd(BigInt(e.uncapped_cost)) } : {}),
    latency_ms: e.latency_ms,
    ttfb_ms: e.ttfb_ms,
    created_at: new Date(e.created_at).toISOString(),
    attempts: e.attempts,
    segments: segmentsOf(e),
  };
}

/**
 * Who produced which part of the answer: one segment per attempt that streamed part of it (a continued answer:
 * routing.continue_on_cut), else the one that answered; each with its tokens and its cost at its own prices.
 */
function segmentsOf(e: Omit<UsageEvent, "team">) {
  const parts = e.attempts.filter((a) => a.segment !== undefined);
  if (parts.length === 0) {
    if (e.status === "error") return [];
    const cost = formatUsd(BigInt(e.cost));
    return [{ provider: e.provider, model: e.model, ...tokenColumns(e), cost: Number(cost), cost_exact: cost, estimated: e.estimated }];
  }
  return parts.map(({ provider, model, segment: s }) => {
    const cost = formatUsd(BigInt(s!.cost));
    return { provider, model, ...tokenColumns(s!), cost: Number(cost), cost_exact: cost, estimated: s!.estimated };
  });
}

/** GET /v1/generation?id=: one request's record, attempts included. */
export async function generation(c: Context<HonoEnv>): Promise<Response> {
  const id = c.req.query("id");
  if (!id) throw new GatewayError("bad_request", "id is required", { details: { param: "id" } });
  const caller = c.get("caller");
  const e = await ledgerClient(c.env, caller.team).generation(id);
  if (!e) throw new GatewayError("not_found", `no generation ${id} for team ${caller.team}`);
  return c.json({ data: generationOut(e, caller.team) });
}

const GenerationsParams = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** The `next_before` of the previous page: records older than it. */
  before: z
    .string()
    .regex(/^\d{1,15}$/, "expected the next_before of a previous page")
    .transform(Number)
    .optional(),
  team: z.string().optional(),
});

/** GET /v1/generations?limit=&before=: the team's records, newest first, a page at a time. */
export async function generations(c: Context<HonoEnv>): Promise<Response> {
  const p = parseWith(GenerationsParams, c.req.query());
  const caller = c.get("caller");
  const r = await ledgerClient(c.env, caller.team).recent(p.limit, p.before);
  return c.json({
    data: r.events.map((e) => generationOut(e, caller.team)),
    has_more: r.next !== null,
    next_before: r.next === null ? null : String(r.next),
  });
}

/** GET /v1/key: the calling key, its scopes, its limits (budgets with what is reserved) and its spend, like OpenRouter's. */
export async function keyInfo(c: Context<HonoEnv>): Promise<Response> {
  const caller = c.get("caller");
  const key = caller.key!;
  const { policy } = await loadPolicy(c.env, caller.team);
  const now = Date.now();
  const specs = budgetSpecs(policy, key.id, null, now);
  const rates = rateSpecs(policy, key.id);
  const r = await ledgerClient(c.env, caller.team).keyReport(key.id, specs, [...rates.rpm, ...rates.tpm], now);
  const budgets = specs.map((spec, i) => {
    const st = r.budgets[i]!;
    const remaining = st.available > 0n ? st.available : 0n;
    return {
      scope: spec.scope,
      period: spec.period,
      window: spec.label,
      resets_at: spec.ends_at === null ? null : new Date(spec.ends_at).toISOString(),
      limit: usdNumber(spec.limit),
      limit_exact: formatUsd(spec.limit),
      usage: usdNumber(st.spent),
      usage_exact: formatUsd(st.spent),
      reserved: usdNumber(st.held),
      reserved_exact: formatUsd(st.held),
      remaining: usdNumber(remaining),
      remaining_exact: formatUsd(remaining),
    };
  });
  // OpenRouter's `limit` fields: the budget closest to running out.
  let t = -1;
  r.budgets.forEach((st, i) => {
    if (t < 0 || st.available < r.budgets[t]!.available) t = i;
  });
  const tightest = t < 0 ? null : budgets[t]!;
  const spend = (t: UsageTotalsRow) => BigInt(t.cost_subunits);
  const rpm = r.rates.filter((x) => x.bucket.startsWith("rpm:"));
  return c.json({
    data: {
      key_id: key.id,
      label: key.name,
      team: key.team,
      scopes: key.scopes,
      expires_at: key.expires_at === null ? null : new Date(key.expires_at).toISOString(),
      limit: tightest?.limit ?? null,
      limit_remaining: tightest?.remaining ?? null,
      limit_reset: tightest ? ({ day: "daily", week: "weekly", month: "monthly", total: null } as const)[tightest.period] : null,
      usage: usdNumber(spend(r.total)),
      usage_exact: formatUsd(spend(r.total)),
      usage_daily: usdNumber(spend(r.day)),
      usage_weekly: usdNumber(spend(r.week)),
      usage_monthly: usdNumber(spend(r.month)),
      requests: r.total.requests,
      budgets,
      rate_limit: rpm.length ? { requests: Math.min(...rpm.map((x) => x.capacity)), interval: "1m" } : null,
      rate_limits: r.rates.map((x) => ({
        kind: x.bucket.slice(0, 3),
        scope: x.bucket.includes(":key:") ? "key" : "team",
        limit: x.capacity,
        remaining: x.remaining,
        reset_ms: x.reset_ms,
      })),
    },
  });
}
