import type { Attempt } from "./event";
import { sha256Hex } from "./sha256";

/**
 * The audit chain. Every per-request record gets `hash = SHA-256(previous hash + "\n" + canonical record)`,
 * computed in the ledger in the same transaction that inserts the row, so the records form one chain in
 * arrival order (seq). Changing, inserting or deleting a row breaks the chain at that row or the next one.
 * Pruned rows leave an anchor (the last pruned seq and hash) from which verification starts.
 */
export const GENESIS_HASH = "0".repeat(64);

/** The hashed fields of one record: what the ledger stores, prices resolved to integer picodollars. */
export interface AuditRecord {
  seq: number;
  id: string;
  created_at: number;
  key_id: string;
  user: string | null;
  model_requested: string;
  model: string;
  provider: string;
  status: string;
  streamed: boolean;
  cancelled: boolean;
  estimated: boolean;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  /** Integer picodollars. */
  cost: number;
  ttfb_ms: number | null;
  latency_ms: number;
  attempts: Attempt[];
  /** SHA-256 of the logged prompt and completion (only when the team's policy logs them), else null. */
  content_sha256: string | null;
  /** Set only on estimated records (schema 3 on); absent, not null, otherwise. */
  estimate_method?: string;
  /** Set only when the charge was capped at the reservation (schema 3 on). */
  uncapped_cost?: number;
}

export interface ChainLink {
  seq: number;
  hash: string;
}

/** JSON with object keys sorted at every level and no whitespace: one byte string per value. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? "null" : canonicalJson(x))).join(",")}]`;
  const obj = v as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(obj).sort()) {
    if (obj[k] === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${canonicalJson(obj[k])}`);
  }
  return `{${parts.join(",")}}`;
}

/**
 * canonicalJson(record), written out for the one shape the ledger hashes per insert (keys already in sorted
 * order; JSON.stringify keeps insertion order): about 4× faster than the generic walk.
 */
export function canonicalRecord(r: AuditRecord): string {
  return JSON.stringify({
    attempts: null,
    cache_write_tokens: r.cache_write_tokens,
    cached_tokens: r.cached_tokens,
    cancelled: r.cancelled,
    completion_tokens: r.completion_tokens,
    content_sha256: r.content_sha256,
    cost: r.cost,
    created_at: r.created_at,
    estimate_method: r.estimate_method,
    estimated: r.estimated,
    id: r.id,
    key_id: r.key_id,
    latency_ms: r.latency_ms,
    model: r.model,
    model_requested: r.model_requested,
    prompt_tokens: r.prompt_tokens,
    provider: r.provider,
    reasoning_tokens: r.reasoning_tokens,
    seq: r.seq,
    status: r.status,
    streamed: r.streamed,
    ttfb_ms: r.ttfb_ms,
    uncapped_cost: r.uncapped_cost,
    user: r.user,
  }).replace('"attempts":null', `"attempts":${canonicalJson(r.attempts)}`);
}

export type HashFn = (s: string) => string;

export function chainHash(prev: string, record: AuditRecord, hash: HashFn = sha256Hex): string {
  return hash(`${prev}\n${canonicalRecord(record)}`);
}

export interface Mismatch {
  seq: number;
  id: string;
  reason: string;
}

/**
 * Recomputes the chain page by page from an anchor; remembers the first record whose stored hash does not
 * match. Feed it the records in seq order.
 */
export class ChainVerifier {
  private prev: string;
  private lastSeq: number;
  checked = 0;
  mismatch: Mismatch | null = null;

  constructor(anchor: ChainLink | null, private readonly hash: HashFn = sha256Hex) {
    this.prev = anchor?.hash ?? GENESIS_HASH;
    this.lastSeq = anchor?.seq ?? 0;
  }

  push(rows: readonly { record: AuditRecord; hash: string }[]): void {
    for (const { record, hash } of rows) {
      if (this.mismatch) return;
      this.checked++;
      if (record.seq <= this.lastSeq) {
        this.mismatch = { seq: record.seq, id: record.id, reason: `seq ${record.seq} out of order after ${this.lastSeq}` };
        return;
      }
      const expected = chainHash(this.prev, record, this.hash);
      if (expected !== hash) {
        this.mismatch = { seq: record.seq, id: record.id, reason: `stored hash ${hash.slice(0, 12)}… ≠ recomputed ${expected.slice(0, 12)}…` };
        return;
      }
      this.prev = hash;
      this.lastSeq = record.seq;
    }
  }

  /** After the last page: the chain must end at the ledger's recorded head (catches deleted tail rows). */
  finish(head: ChainLink | null): void {
    if (this.mismatch || !head) return;
    if (head.seq !== this.lastSeq || head.hash !== this.prev) {
      this.mismatch = { seq: head.seq, id: "(head)", reason: `chain ends at seq ${this.lastSeq}, the ledger's head is seq ${head.seq}` };
    }
  }
}

/** One page of GET /v1/audit/export. */
export interface AuditPage {
  anchor: ChainLink | null;
  head: ChainLink;
  records: { record: AuditRecord; hash: string }[];
  next_cursor: number | null;
}

/** Walks a team's whole chain through `fetchPage` (the CLI over HTTP, tests through the Worker). */
export async function verifyChain(
  fetchPage: (cursor: number) => Promise<AuditPage>,
  hash: HashFn = sha256Hex,
): Promise<{ ok: boolean; checked: number; head: ChainLink | null; mismatch: Mismatch | null }> {
  let page = await fetchPage(0);
  const verifier = new ChainVerifier(page.anchor, hash);
  let head = page.head;
  for (;;) {
    verifier.push(page.records);
    head = page.head;
    if (verifier.mismatch || page.next_cursor === null) break;
    page = await fetchPage(page.next_cursor);
  }
  verifier.finish(head);
  return { ok: verifier.mismatch === null, checked: verifier.checked, head, mismatch: verifier.mismatch };
}
