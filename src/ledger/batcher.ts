import type { Env } from "../env";
import type { UsageEvent } from "./event";

/**
 * Usage events are batched per isolate and per team (50 events or 100 ms, whichever first) so that no
 * request waits on a Durable Object round trip. The write must complete within the lifetime of the request
 * that runs it, so the requests that can run it hand its promise to `waitUntil` (see recordUsage). Writes
 * are idempotent by request id, so a retried batch never double-counts; a batch that still fails goes back
 * on the queue.
 */
export const MAX_BATCH = 50;
export const MAX_DELAY_MS = 100;
const RETRY_DELAYS_MS = [25, 100, 400];

/** The batch now filling for one team; it is written when full or when its timer fires. */
interface OpenBatch {
  events: UsageEvent[];
  written: Promise<void>;
  /** `written`, never rejecting: what requests wait on. */
  settled: Promise<void>;
  close: () => void;
  /** Whether a request already waits on this batch's write. */
  held: boolean;
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
  const written = Promise.race([closed, new Promise<void>((r) => setTimeout(r, MAX_DELAY_MS))]).then(async () => {
    if (open.get(team) === batch) open.delete(team);
    try {
      await writeBatch(env, team, batch.events);
    } catch (err) {
      // Keep the events: the next batch for this team carries them again (idempotent by id).
      batchFor(env, team).events.unshift(...batch.events);
      console.error(JSON.stringify({ msg: "usage write failed; events re-queued", team, count: batch.events.length, error: String(err) }));
      throw err;
    }
  });
  const batch: OpenBatch = { events: [], written, settled: written.catch(() => {}), close, held: false };
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
  const full = batch.events.length >= MAX_BATCH;
  if (full) {
    open.delete(event.team);
    batch.close();
  }
  // Only the requests that can end up running the write wait for it: the first to add an event (the batch's
  // timer, armed when it opened, fires in that request's context) and the one that filled it (its close()
  // starts the write). The events of the others ride in the same write. A waitUntil from every request kept
  // each one's context open until its batch was written: about 5% of the gateway's CPU per request in
  // `npm run bench`, for no added safety.
  if (!batch.held || full) {
    batch.held = true;
    ctx?.waitUntil(batch.settled);
  }
  return batch.settled;
}

/** Writes whatever is queued now (tests, shutdown paths). */
export async function flushAllUsage(): Promise<void> {
  const batches = [...open.values()];
  for (const b of batches) b.close();
  await Promise.all(batches.map((b) => b.written.catch(() => {})));
}
