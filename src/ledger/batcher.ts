import type { Env } from "../env";
import { ledgerClient } from "./client";
import type { UsageEvent } from "./event";

/**
 * Usage events are batched per isolate and per team (50 events or 100 ms, whichever first) so that no
 * request waits on a Durable Object round trip. Writes are idempotent by request id, so a retried batch never
 * double-counts; a batch that still fails goes back on the queue.
 *
 * A batch is written by one of the requests whose events it carries, in that request's own context and under
 * its `waitUntil`: the one that filled it, or else the one that opened it, whose timer fires. No request
 * waits on a promise another request created or resolves one: the Workers runtime ties promises and I/O to
 * the request they belong to, and one that crosses requests can fail ("Cannot perform I/O on behalf of a
 * different request") or never settle once its request has ended.
 */
const MAX_BATCH = 50;
const MAX_DELAY_MS = 100;
const RETRY_DELAYS_MS = [25, 100, 400];

/** The batch now filling for one team. */
interface OpenBatch {
  env: Env;
  events: UsageEvent[];
  /** Set by the request that takes it to write: the others leave it alone. */
  taken: boolean;
}

const open = new Map<string, OpenBatch>();

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function writeBatch(env: Env, team: string, events: UsageEvent[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await ledgerClient(env, team).record(events);
      return;
    } catch (err) {
      const wait = RETRY_DELAYS_MS[attempt];
      if (wait === undefined) throw err;
      await delay(wait);
    }
  }
}

/** Writes a batch unless another request already took it. Never rejects. */
async function flush(env: Env, team: string, batch: OpenBatch): Promise<void> {
  if (batch.taken) return;
  batch.taken = true;
  if (open.get(team) === batch) open.delete(team);
  if (batch.events.length === 0) return;
  try {
    await writeBatch(env, team, batch.events);
  } catch (err) {
    console.error(JSON.stringify({ msg: "usage write failed; events re-queued", team, count: batch.events.length, error: String(err) }));
    // Back on the queue: into the batch now filling, or a new one this request writes after the usual delay.
    const next = open.get(team);
    if (next && !next.taken) next.events.unshift(...batch.events);
    else await openBatch(env, team, batch.events);
  }
}

/** Opens a team's batch; the returned promise (the opener's to wait on) settles once its timer has flushed it. */
function openBatch(env: Env, team: string, events: UsageEvent[]): Promise<void> {
  const batch: OpenBatch = { env, events, taken: false };
  open.set(team, batch);
  return delay(MAX_DELAY_MS).then(() => flush(env, team, batch));
}

/**
 * Queues a usage event. The request that opens a batch and the one that fills it hand the write to
 * `waitUntil` (and get its promise back); the events of the others ride in the same write.
 */
export function recordUsage(env: Env, ctx: { waitUntil(p: Promise<unknown>): void } | undefined, event: UsageEvent): Promise<void> {
  const batch = open.get(event.team);
  if (!batch || batch.taken) {
    const opened = openBatch(env, event.team, [event]);
    ctx?.waitUntil(opened);
    return opened;
  }
  batch.events.push(event);
  if (batch.events.length < MAX_BATCH) return Promise.resolve();
  const written = flush(env, event.team, batch);
  ctx?.waitUntil(written);
  return written;
}

/** Writes whatever is queued now, in the caller's context (tests, shutdown paths). */
export async function flushAllUsage(): Promise<void> {
  await Promise.all([...open.entries()].map(([team, batch]) => flush(batch.env, team, batch)));
}
