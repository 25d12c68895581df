import type { Env } from "../env";
import type { UsageEvent } from "./event";

/**
 * Usage events are batched per isolate and per team (50 events or 100 ms, whichever first) so that no
 * request waits on a Durable Object round trip. Each request hands the promise of the flush that carries
 * its event to `waitUntil`, so the write completes within the request's lifetime. Writes are idempotent by
 * request id, so a retried batch never double-counts; a batch that still fails goes back on the queue.
 */
export const MAX_BATCH = 50;
export const MAX_DELAY_MS = 100;
const RETRY_DELAYS_MS = [25, 100, 400];

/** The batch now filling for one team; it is written when full or when its timer fires. */
interface OpenBatch {
  events: UsageEvent[];
  written: Promise<void>;
  close: () => void;
}

const open = new Map<string, OpenBatch>();

function ledgerFor(env: Env, team: string) {
  return env.LEDGER.get(env.LEDGER.idFromName(team));
}

async function writeBatch(env: Env, team: string, events: UsageEvent[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await ledgerFor(env, team).record(events);
      return;
    } catch (err) {
      const delay = RETRY_DELAYS_MS[attempt];
      if (delay === undefined) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

function openBatch(env: Env, team: string): OpenBatch {
  let close!: () => void;
  const closed = new Promise<void>((r) => (close = r));
  const batch: OpenBatch = {
    events: [],
    close,
    written: Promise.race([closed, new Promise<void>((r) => setTimeout(r, MAX_DELAY_MS))]).then(async () => {
      if (open.get(team) === batch) open.delete(team);
      try {
        await writeBatch(env, team, batch.events);
      } catch (err) {
        // Keep the events: the next batch for this team carries them again (idempotent by id).
        batchFor(env, team).events.unshift(...batch.events);
        console.error(JSON.stringify({ msg: "usage write failed; events re-queued", team, count: batch.events.length, error: String(err) }));
        throw err;
      }
    }),
  };
  open.set(team, batch);
  return batch;
}

function batchFor(env: Env, team: string): OpenBatch {
  return open.get(team) ?? openBatch(env, team);
}

/** Queues a usage event; the returned promise settles when the batch carrying it has been written. */
export function recordUsage(env: Env, ctx: { waitUntil(p: Promise<unknown>): void } | undefined, event: UsageEvent): Promise<void> {
  const batch = batchFor(env, event.team);
  batch.events.push(event);
  if (batch.events.length >= MAX_BATCH) {
    open.delete(event.team);
    batch.close();
  }
  const settled = batch.written.catch(() => {});
  ctx?.waitUntil(settled);
  return settled;
}

/** Writes whatever is queued now (tests, shutdown paths). */
export async function flushAllUsage(): Promise<void> {
  const batches = [...open.values()];
  for (const b of batches) b.close();
  await Promise.all(batches.map((b) => b.written.catch(() => {})));
}
