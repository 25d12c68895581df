import type { Context } from "hono";
import type { CatalogModel } from "../catalog/types";
import type { GatewayRequest } from "../core/request";
import { recordUsage } from "../ledger/batcher";
import { costOf, toSafeSubunits, ZERO_TOKENS, type TokenCounts } from "../ledger/cost";
import type { UsageEvent, UsageStatus } from "../ledger/event";
import type { PolicyDocument } from "../policy/schema";
import type { Route } from "../policy/route";
import { scrubberFor } from "../providers/secrets";
import type { AttemptsInput } from "../routing/attempts";
import { healthGate } from "../routing/health";
import type { PlannedAttempt } from "../routing/plan";
import { loggedPrompt } from "../streaming/completion-log";
import { ESTIMATE_METHOD } from "../streaming/estimate";
import type { HonoEnv } from "./app";
import { holdRequest, type HoldInput, type RequestHold } from "./request-hold";

type WaitUntil = (p: Promise<unknown>) => void;

/**
 * What every request that may reach a provider shares, from its plan to its usage record, whatever it asks for
 * (chat in any format, embeddings): the usage event, the hold on the budgets, the attempts' common settings,
 * the prompts of attempts the client gave up on, billing, and the one finish that settles and records.
 */
export class RequestLifecycle {
  readonly event: UsageEvent;
  readonly waitUntil: WaitUntil;
  /** Attempts a provider had been sent and the client gave up on (routing/attempts.ts onAbandoned). */
  readonly abandoned: PlannedAttempt[] = [];
  hold: RequestHold | null = null;
  private finished = false;

  constructor(
    private readonly c: Context<HonoEnv>,
    /** When the request arrived (Date.now()): the record's time, and where the total time limit counts from. */
    readonly started: number,
    greq: GatewayRequest,
    first: PlannedAttempt,
    /** The prompt tokens of an abandoned attempt, estimated from what that provider was sent. */
    private readonly abandonedPrompt: (a: PlannedAttempt) => number,
  ) {
    const caller = c.get("caller");
    this.waitUntil = (p) => c.executionCtx.waitUntil(p);
    this.event = {
      id: c.get("requestId"),
      team: caller.team,
      key_id: caller.key?.id ?? "admin",
      user: greq.user,
      model_requested: greq.models[0]!,
      model: first.model.id,
      provider: first.provider.id,
      status: "error",
      streamed: greq.stream,
      cancelled: false,
      estimated: false,
      ...ZERO_TOKENS,
      cost: 0,
      ttfb_ms: null,
      latency_ms: 0,
      created_at: this.started,
      attempts: [],
    };
  }

  /**
   * Keeps the prompt when the team's policy says so (data.log_prompts), then reserves the worst case of what is
   * sent upstream on the budgets and rate limits (402 / 429 if it does not fit).
   */
  async holdFor(policy: PolicyDocument, greq: GatewayRequest, sizes: Pick<HoldInput, "upstream" | "continuation">): Promise<RequestHold> {
    if (policy.data.log_prompts) this.event.prompt = loggedPrompt(greq);
    this.hold = await holdRequest({ env: this.c.env, waitUntil: this.waitUntil, policy, greq, event: this.event, ...sizes });
    return this.hold;
  }

  /** The settings of runAttempts every request passes the same way. */
  attemptsInput(route: Route) {
    return {
      env: this.c.env,
      clientSignal: this.c.req.raw.signal,
      log: this.event.attempts,
      retries: route.retries,
      timeouts: route.timeouts,
      gatewayTimeouts: route.gatewayTimeouts,
      started: this.started,
      health: healthGate(this.c.env, this.waitUntil),
      onAbandoned: (planned: PlannedAttempt) => this.abandoned.push(planned),
    } satisfies Partial<AttemptsInput>;
  }

  /** The attempt that answers is the one the record names. */
  servedBy(planned: { model: { id: string }; provider: { id: string } }): void {
    this.event.model = planned.model.id;
    this.event.provider = planned.provider.id;
  }

  /**
   * Adds to the event the prompts of the attempts the client gave up on, each at its own model's prices;
   * returns what they cost. A provider that was sent a request is paid for its prompt.
   */
  billAbandoned(): bigint {
    if (this.abandoned.length === 0) return 0n;
    let cost = 0n;
    for (const a of this.abandoned) {
      const prompt = this.abandonedPrompt(a);
      cost += costOf({ ...ZERO_TOKENS, prompt_tokens: prompt }, a.model.pricing);
      this.event.prompt_tokens += prompt;
    }
    const event = this.event;
    event.cost = toSafeSubunits(BigInt(event.cost) + cost);
    event.estimated = true;
    event.estimate_method = ESTIMATE_METHOD;
    return cost;
  }

  /** Records what the answer cost (at `model`'s prices) and returns what the budgets are charged: at most the hold. */
  bill(tokens: TokenCounts, estimated: boolean, model: CatalogModel): bigint {
    const cost = costOf(tokens, model.pricing);
    Object.assign(this.event, tokens, { cost: toSafeSubunits(cost), estimated, estimate_method: estimated ? ESTIMATE_METHOD : null });
    return this.charged(cost + this.billAbandoned());
  }

  /** What the budgets are charged for `cost`: at most what the request reserved. */
  charged(cost: bigint): bigint {
    return this.hold ? this.hold.charged(cost) : cost;
  }

  /**
   * When no attempt served: a request some provider was sent and the client gave up on is billed its
   * prompts and recorded as cancelled, any other as an error. Returns `err` for the caller to throw.
   */
  failed(err: unknown): unknown {
    const event = this.event;
    event.cancelled = event.attempts.at(-1)?.error === "client disconnected";
    if (this.abandoned.length > 0) {
      this.servedBy(this.abandoned.at(-1)!);
      this.billAbandoned();
      void this.finish("cancelled");
    } else {
      // Queued, not awaited: the batch is written under waitUntil, never on the error's critical path.
      void this.finish("error");
    }
    return err;
  }

  /**
   * Ends the record once (later calls do nothing): status, latency, `beforeRecord` (what the caller adds),
   * the hold settled, provider text scrubbed of credentials, the event queued for the Ledger.
   */
  finish(status: UsageStatus, beforeRecord?: (status: UsageStatus) => void): Promise<void> {
    if (this.finished) return Promise.resolve();
    this.finished = true;
    const event = this.event;
    if (status === "cancelled") event.cancelled = true;
    event.status = status;
    event.latency_ms = Date.now() - this.started;
    beforeRecord?.(status);
    this.hold?.settle();
    // Whatever a provider said on the way (its errors are quoted in the attempts) enters the ledger without credentials.
    if (event.attempts.some((a) => a.error !== undefined)) {
      const scrub = scrubberFor(this.c.env);
      for (const a of event.attempts) if (a.error !== undefined) a.error = scrub(a.error);
    }
    return recordUsage(this.c.env, this.c.executionCtx, event);
  }
}
