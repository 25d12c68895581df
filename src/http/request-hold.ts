import type { CatalogModel } from "../catalog/types";
import type { Env } from "../env";
import { GatewayError } from "../core/errors";
import type { GatewayRequest } from "../core/request";
import type { PolicyDocument } from "../policy/schema";
import { upstreamTimeouts } from "../core/time-limits";
import { Allowances, RefusedError, type Hold, type RateNeed, type Refusal } from "../ledger/allowances";
import { bucketId, type BudgetSpec } from "../ledger/budget-book";
import { formatUsd, subunitPricing, usdToSubunits } from "../ledger/cost";
import type { UsageEvent } from "../ledger/event";
import { ledgerClient } from "../ledger/client";
import type { AllowanceRequest } from "../ledger/ledger-do";
import { windowOf } from "../ledger/periods";
import { tokensOfBytes } from "../streaming/estimate";
import type { RateSpec } from "../ledger/rate-book";

/**
 * Budgets and rate limits around one request: reserve before the first attempt, settle when the request
 * finishes (to its actual cost, or to nothing when no provider answered).
 */
export interface RequestHold {
  /** What settling charges the budgets for a request that cost `cost`: at most what it reserved. */
  charged(cost: bigint): bigint;
  /** Settles the reservation to the event's outcome; idempotent. */
  settle(): void;
  /** The most the request may cost (what it reserved), or null when no budget applies. */
  limit: bigint | null;
  /** The number of image parts in the prompt (each may cost more tokens than its bytes). */
  images: number;
}

const NOTHING: RequestHold = { charged: (cost) => cost, settle: () => {}, limit: null, images: 0 };

/** Tokens an image part of a prompt may cost beyond its bytes in the body (a URL is short, the image is not). */
const IMAGE_TOKENS = 2_000;
/**
 * Prompt tokens a provider adds of its own when a body declares tools: the tool-use system prompt (a few
 * hundred at Anthropic; open models' chat templates add their own). Without tools, the body's JSON framing
 * already covers what a chat template adds, so small requests are not held for it.
 */
const TOOL_PROMPT_TOKENS = 1_000;

let isolateAllowances: Allowances | null = null;

/** The isolate's slices of every team's budgets and rate limits, calling the Ledger through `env`. */
export function allowancesFor(env: Env): Allowances {
  const call = (team: string, req: AllowanceRequest) => ledgerClient(env, team).allowances(req);
  return (isolateAllowances ??= new Allowances(call)).useLedger(call);
}

/** The budget windows that apply to a request made at `at` by `keyId` for end user `user`. */
export function budgetSpecs(policy: PolicyDocument, keyId: string, user: string | null, at: number): BudgetSpec[] {
  const byBucket = new Map<string, BudgetSpec>();
  for (const b of policy.budgets) {
    let subject: string;
    if (b.scope === "team") subject = "";
    else if (b.scope === "key") {
      if (b.key_id !== undefined && b.key_id !== keyId) continue;
      subject = keyId;
    } else {
      // Per-user budgets apply to requests that name their end user.
      if (!user || (b.user !== undefined && b.user !== user)) continue;
      subject = user;
    }
    const w = windowOf(b.period, at);
    const bucket = bucketId(b.period, w.label, b.scope, subject);
    const limit = usdToSubunits(b.limit_usd);
    const seen = byBucket.get(bucket);
    if (seen && seen.limit <= limit) continue;
    byBucket.set(bucket, { bucket, scope: b.scope, subject, period: b.period, label: w.label, from_hour: w.from_hour, to_hour: w.to_hour, ends_at: w.ends_at, limit });
  }
  return [...byBucket.values()];
}

/** The request and token buckets that apply to a key of the team. */
export function rateSpecs(policy: PolicyDocument, keyId: string): { rpm: RateSpec[]; tpm: RateSpec[] } {
  const rpm = new Map<string, number>();
  const tpm = new Map<string, number>();
  for (const r of policy.rate_limits) {
    if (r.scope === "key" && r.key_id !== undefined && r.key_id !== keyId) continue;
    const subject = r.scope === "key" ? `key:${keyId}` : "team:";
    if (r.rpm !== undefined) rpm.set(`rpm:${subject}`, Math.min(r.rpm, rpm.get(`rpm:${subject}`) ?? Infinity));
    if (r.tpm !== undefined) tpm.set(`tpm:${subject}`, Math.min(r.tpm, tpm.get(`tpm:${subject}`) ?? Infinity));
  }
  const specs = (m: Map<string, number>) => [...m].map(([bucket, capacity]) => ({ bucket, capacity }));
  return { rpm: specs(rpm), tpm: specs(tpm) };
}

/** Images in the client's messages: each may cost far more tokens than its URL's bytes. */
function imageParts(greq: GatewayRequest): number {
  let images = 0;
  for (const m of greq.messages) {
    if (!Array.isArray(m.content)) continue;
    for (const p of m.content as { type?: unknown }[]) if (typeof p?.type === "string" && p.type.includes("image")) images++;
  }
  return images;
}

/**
 * An upper bound on the prompt tokens of an upstream body of `bytes` bytes: every token of a byte-level
 * tokenizer covers at least one byte of text, and the body holds all the text (plus JSON framing, which
 * covers the chat template's), except what images add beyond their URLs and the tool-use prompt a provider
 * adds itself when the body declares tools.
 */
export function promptTokenBound(bytes: number, images: number, tools: boolean): number {
  return bytes + images * IMAGE_TOKENS + (tools ? TOOL_PROMPT_TOKENS : 0);
}

/** Whether an upstream body declares tools (`tools` in every wire format; OpenAI's older `functions`). */
export function declaresTools(body: Record<string, unknown>): boolean {
  const nonEmpty = (v: unknown) => Array.isArray(v) && v.length > 0;
  return nonEmpty(body.tools) || nonEmpty(body.functions);
}

/**
 * The most a request can cost at `model`: every prompt token and `maxOut` output tokens at the highest rates,
 * and `webSearches` searches (the sum of its web search tools' max_uses) at the model's price per search.
 */
export function worstCaseCost(model: CatalogModel, promptTokens: number, maxOut: number, webSearches = 0): bigint {
  const p = subunitPricing(model.pricing);
  const max = (...v: bigint[]) => v.reduce((a, b) => (a > b ? a : b));
  return BigInt(promptTokens) * max(p.prompt, p.input_cache_read, p.input_cache_write) + BigInt(maxOut) * max(p.completion, p.internal_reasoning) + p.request + BigInt(webSearches) * p.web_search;
}

/** What one planned attempt sends upstream, as budgets and rate limits size it. */
export interface UpstreamSize {
  model: CatalogModel;
  /** UTF-8 bytes of the upstream body. */
  bytes: number;
  /** The output tokens the body lets the provider produce, thinking included (providers/output-cap.ts). */
  outputCap: number;
  /** Whether the body declares tools (declaresTools). */
  tools: boolean;
}

export interface HoldInput {
  env: Env;
  waitUntil(p: Promise<unknown>): void;
  policy: PolicyDocument;
  greq: GatewayRequest;
  /** Every attempt the request may make (a fallback may be dearer than the first); asked only when a limit applies. */
  upstream(): readonly UpstreamSize[];
  /**
   * When a cut answer may be continued (routing.continue_on_cut): what a continuation may send, the answer so
   * far included. The hold then covers one answer and one continuation: the worst of each, added.
   */
  continuation?(): readonly UpstreamSize[];
  event: UsageEvent;
}

/**
 * Reserves the request's worst-case cost in every budget and its tokens in every rate limit; 402 / 429 if not.
 * The worst case is that of the bodies actually sent upstream (translation may raise a client's max_tokens by
 * a thinking budget). Settling charges the budgets at most what was reserved: a provider that produces more
 * than the body allowed (or counts more prompt than its bytes) cannot take a budget past its limit; the
 * record keeps the provider's counts and their full price as `uncapped_cost`.
 */
export async function holdRequest(input: HoldInput): Promise<RequestHold> {
  const { policy, greq, event } = input;
  if (policy.budgets.length === 0 && policy.rate_limits.length === 0) return NOTHING;
  const budgets = budgetSpecs(policy, event.key_id, event.user, event.created_at);
  const rates = rateSpecs(policy, event.key_id);
  const upstream = input.upstream();
  // Tokens per minute count what billing would estimate: the upstream prompt (bytes/4), plus the output cap
  // sent upstream when the client set one (without one, the actual count is settled when the answer ends).
  let tpmNeed = 0;
  for (const u of upstream) tpmNeed = Math.max(tpmNeed, tokensOfBytes(u.bytes) + (greq.maxTokens === null ? 0 : u.outputCap));
  const needs: RateNeed[] = [...rates.rpm.map((spec) => ({ spec, amount: 1 })), ...rates.tpm.map((spec) => ({ spec, amount: tpmNeed }))];
  let worst = 0n;
  if (budgets.length > 0) {
    const images = imageParts(greq);
    for (const u of upstream) {
      const c = worstCaseCost(u.model, promptTokenBound(u.bytes, images, u.tools), u.outputCap, greq.webSearches);
      if (c > worst) worst = c;
    }
    let continuing = 0n;
    for (const u of input.continuation?.() ?? []) {
      const c = worstCaseCost(u.model, promptTokenBound(u.bytes, images, u.tools), u.outputCap, greq.webSearches);
      if (c > continuing) continuing = c;
    }
    worst += continuing;
  }
  let hold: Hold;
  try {
    // A lease must outlive the longest request reserved from it.
    const maxRequestMs = Math.max(policy.routing.timeouts_ms.total ?? 0, upstreamTimeouts(input.env).total);
    hold = await allowancesFor(input.env).reserve(event.team, budgets, worst, needs, { maxRequestMs, waitUntil: input.waitUntil });
  } catch (err) {
    if (err instanceof RefusedError) throw refusalError(err.refusal, event);
    throw err;
  }
  event.leases = hold.leases;
  let settled = false;
  return {
    limit: budgets.length > 0 ? worst : null,
    images: imageParts(greq),
    charged: (cost) => (budgets.length > 0 && cost > worst ? worst : cost),
    settle: () => {
      if (settled) return;
      settled = true;
      const answered = event.status !== "error";
      if (answered && budgets.length > 0 && BigInt(event.cost) > worst) {
        event.uncapped_cost = event.cost;
        event.cost = Number(worst);
      }
      const p = hold.settle(answered ? BigInt(event.cost) : 0n, answered ? event.prompt_tokens + event.completion_tokens : 0);
      if (p) input.waitUntil(p);
    },
  };
}

/**
 * count_tokens when a provider counts: one request of the key's and team's request limits, its prompt in
 * the token limits, and no budget that is already spent (the count itself is free at Anthropic, so it
 * reserves the smallest amount, and settles to nothing).
 */
export interface CountHoldInput {
  env: Env;
  waitUntil(p: Promise<unknown>): void;
  policy: PolicyDocument;
  event: Pick<UsageEvent, "team" | "key_id" | "user" | "created_at">;
  /** UTF-8 bytes of the body sent to the counting provider. */
  bytes: number;
}

export async function holdCount(input: CountHoldInput): Promise<RequestHold> {
  const { policy, event } = input;
  if (policy.budgets.length === 0 && policy.rate_limits.length === 0) return NOTHING;
  const budgets = budgetSpecs(policy, event.key_id, event.user, event.created_at);
  const rates = rateSpecs(policy, event.key_id);
  const needs: RateNeed[] = [...rates.rpm.map((spec) => ({ spec, amount: 1 })), ...rates.tpm.map((spec) => ({ spec, amount: tokensOfBytes(input.bytes) }))];
  let hold: Hold;
  try {
    hold = await allowancesFor(input.env).reserve(event.team, budgets, budgets.length > 0 ? 1n : 0n, needs, { maxRequestMs: upstreamTimeouts(input.env).headers, waitUntil: input.waitUntil });
  } catch (err) {
    if (err instanceof RefusedError) throw refusalError(err.refusal, event);
    throw err;
  }
  return {
    charged: () => 0n,
    limit: null,
    images: 0,
    settle: () => {
      const p = hold.settle(0n, tokensOfBytes(input.bytes));
      if (p) input.waitUntil(p);
    },
  };
}

function refusalError(r: Refusal, event: Pick<UsageEvent, "key_id">): GatewayError {
  if (r.kind === "budget") {
    const { spec, state } = r;
    const remaining = state.available > 0n ? state.available : 0n;
    const who = spec.scope === "team" ? "the team's" : spec.scope === "key" ? `key ${spec.subject}'s` : `end user ${spec.subject}'s`;
    const period = spec.period === "total" ? "total" : `${spec.period}ly`.replace("dayly", "daily");
    return new GatewayError(
      "insufficient_budget",
      `${who} ${period} budget of $${trimUsd(spec.limit)} has $${trimUsd(remaining)} left, and this request may cost up to ` +
        `$${trimUsd(r.need)} (its prompt and max_tokens at the model's prices); lower max_tokens to reserve less`,
      {
        details: {
          budget: {
            scope: spec.scope,
            ...(spec.scope === "key" ? { key_id: spec.subject } : spec.scope === "user" ? { user: spec.subject } : {}),
            period: spec.period,
            window: spec.label,
            limit_usd: formatUsd(spec.limit),
            spent_usd: formatUsd(state.spent),
            reserved_usd: formatUsd(state.held),
            remaining_usd: formatUsd(remaining),
            request_max_usd: formatUsd(r.need),
          },
        },
      },
    );
  }
  const { need, grant } = r;
  const [kind, scope] = need.spec.bucket.split(":") as ["rpm" | "tpm", "key" | "team"];
  const unit = kind === "rpm" ? "requests" : "tokens";
  const never = !Number.isFinite(grant.retry_after_ms);
  const retryS = never ? 60 : Math.max(1, Math.ceil(grant.retry_after_ms / 1000));
  const who = scope === "key" ? `key ${event.key_id}` : "the team";
  return new GatewayError(
    "rate_limited",
    never
      ? `this request's ${need.amount} tokens exceed ${who}'s limit of ${grant.capacity} ${unit} per minute`
      : `${who} is limited to ${grant.capacity} ${unit} per minute; retry in ${retryS} s`,
    {
      headers: {
        "retry-after": String(retryS),
        "x-ratelimit-limit": String(grant.capacity),
        "x-ratelimit-remaining": String(grant.remaining),
        "x-ratelimit-reset": String(Date.now() + grant.reset_ms),
      },
      details: { rate_limit: { scope, kind, limit: grant.capacity, remaining: grant.remaining } },
    },
  );
}

/** "$5.000000000000" → "5.00"; keeps every significant digit. */
function trimUsd(v: bigint): string {
  const s = formatUsd(v).replace(/0+$/, "");
  return s.endsWith(".") ? `${s}00` : s.split(".")[1]!.length === 1 ? `${s}0` : s;
}
