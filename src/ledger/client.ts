import { GatewayError } from "../core/errors";
import type { Env } from "../env";
import type { BudgetSpec } from "./budget-book";
import type { UsageEvent, UsageQuery } from "./event";
import type { AllowanceRequest } from "./ledger-do";
import type { RateSpec } from "./rate-book";

/**
 * The Worker's one way to a team's Ledger object: each call the Worker makes, tried twice (a Durable Object
 * call can fail once on a reset or a move), then failing closed. A failure is a 503 the client may retry:
 * with no Ledger, no spend limit can be checked (so no request goes ahead) and no usage can be read.
 */
export class LedgerClient {
  constructor(
    private readonly env: Env,
    readonly team: string,
  ) {}

  private stub() {
    return this.env.LEDGER.get(this.env.LEDGER.idFromName(this.team));
  }

  /** Calls the Ledger, once more if the first call fails; then the GatewayError `unavailable`: "`what` right now". */
  private async call<T>(what: string, fn: (ledger: ReturnType<LedgerClient["stub"]>) => Promise<T>): Promise<T> {
    try {
      return await fn(this.stub());
    } catch {
      try {
        return await fn(this.stub());
      } catch (err) {
        console.error(JSON.stringify({ msg: "ledger unreachable", team: this.team, call: what, error: String(err) }));
        throw new GatewayError("unavailable", `${what} right now; retry shortly`);
      }
    }
  }

  /** Usage events, idempotent by request id (the batcher retries a failed batch later). */
  record(events: UsageEvent[]) {
    return this.call("usage cannot be recorded", (l) => l.record(events));
  }

  /** Budget and rate-limit slices: money is at stake, so no answer means no request. */
  allowances(req: AllowanceRequest) {
    return this.call("spend limits cannot be checked", (l) => l.allowances(req));
  }

  usage(q: UsageQuery) {
    return this.call("usage cannot be read", (l) => l.usage(q));
  }

  generation(id: string) {
    return this.call("usage cannot be read", (l) => l.generation(id));
  }

  recent(limit: number, before?: number) {
    return this.call("usage cannot be read", (l) => l.recent(limit, before));
  }

  keyReport(keyId: string, specs: BudgetSpec[], rates: RateSpec[], at: number) {
    return this.call("usage cannot be read", (l) => l.keyReport(keyId, specs, rates, at));
  }

  exportPage(cursor: number, limit: number, from?: number, to?: number) {
    return this.call("the export cannot be read", (l) => l.exportPage(cursor, limit, from, to));
  }

  auditPage(cursor: number, limit: number) {
    return this.call("the audit chain cannot be read", (l) => l.auditPage(cursor, limit));
  }

  auditTotals(cursor: number, limit: number) {
    return this.call("the audit chain cannot be read", (l) => l.auditTotals(cursor, limit));
  }

  ackExport(seq: number) {
    return this.call("the export cannot be acknowledged", (l) => l.ackExport(seq));
  }
}

export function ledgerClient(env: Env, team: string): LedgerClient {
  return new LedgerClient(env, team);
}
