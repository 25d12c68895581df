import { TotalsVerifier, type AuditTotalsPage } from "./audit-totals";
import type { TokenColumns } from "./cost";
import type { Attempt } from "./event";
import { hourBucket } from "./event";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

/**
 * The audit chain. Every per-request record gets `hash = SHA-256(previous hash + "\n" + canonical record)`,
 * computed in the ledger in the same transaction that inserts the row, so the records form one chain in
 * arrival order (seq). Changing, inserting or deleting a row breaks the chain at that row or the next one.
 * Pruned rows leave an anchor (the last pruned seq and hash) from which verification starts. The head and
 * anchor are sealed with a Worker secret (audit-seal.ts); rollups and budget windows are recomputed from the
 * records (audit-totals.ts).
 */
export const GENESIS_HASH = "0".repeat(64);

/** The hashed fields of one record: what the ledger stores, prices resolved to integer picodollars. */
export interface AuditRecord extends TokenColumns {
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

export interface AuditAnchor extends ChainLink {
  /** The latest hour bucket among the pruned records (rollups of later hours hold only kept records). */
  hour?: string;
}

/** How the stored seal stands, as GET /v1/audit/export reports it. */
export interface SealState {
  state: "valid" | "invalid" | "unsigned";
  signed_from: number;
  broken_at: number;
  reason: string | null;
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

/**
 * SHA-256 of a string's UTF-8 bytes, hex; synchronous, because the ledger hashes its chain inside
 * `transactionSync`, where `crypto.subtle.digest` (a promise) cannot be awaited. The CLI verifies the same
 * chain with node:crypto.
 */
const utf8 = new TextEncoder();

export function sha256Hex(s: string): string {
  // The runtime's encoder, not the library's: it runs once per record on the Ledger's write path.
  return bytesToHex(sha256(utf8.encode(s)));
}

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
  anchor: AuditAnchor | null;
  head: ChainLink;
  records: { record: AuditRecord; hash: string }[];
  next_cursor: number | null;
  /** The seal on head and anchor, as the Ledger (which holds the key) found it. */
  seal?: SealState;
  /** The retention in force: an anchor is valid only behind it. */
  retention?: { days: number; require_export: boolean; watermark: number };
  /** The Ledger's clock (epoch ms) when it answered. */
  now?: number;
}

export interface VerifyOptions {
  hash?: HashFn;
  /** Pages of GET /v1/audit/totals: rollups and budget windows, recomputed from the records and compared. */
  fetchTotals?: (cursor: number) => Promise<AuditTotalsPage>;
  /** Accept records up to this seq without a seal (a ledger that recorded before AUDIT_SIGNING_KEY was set). */
  unsignedThrough?: number;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  head: ChainLink | null;
  mismatch: Mismatch | null;
  /** "valid": the head is signed and the seal covers every kept record; "unsigned": no signing key (dev). */
  seal: SealState["state"] | "absent";
  /** What the seal leaves unproved when the ledger signs nothing (dev), else null. */
  note: string | null;
}

const DAY_MS = 86_400_000;

/** An anchor says records were pruned: only retention may prune, and only behind its watermark and age. */
function anchorProblem(page: AuditPage): string | null {
  const a = page.anchor;
  if (!a || !page.retention) return null;
  const r = page.retention;
  if (r.days <= 0) return `records up to seq ${a.seq} are gone, but retention is off`;
  if (r.require_export && a.seq > r.watermark) return `records up to seq ${a.seq} are gone, but exports acknowledged only seq ${r.watermark}`;
  const cutoff = hourBucket((page.now ?? Date.now()) - r.days * DAY_MS);
  if (a.hour === undefined || a.hour >= cutoff) return `records up to seq ${a.seq} are gone, but only records before ${cutoff} may be pruned`;
  return null;
}

function sealProblem(page: AuditPage, unsignedThrough: number): string | null {
  const s = page.seal;
  if (!s || s.state === "unsigned") return null;
  if (s.state === "invalid") return s.reason ?? "the chain head's signature is invalid";
  if (s.broken_at > unsignedThrough) return `the chain was extended from a head the signing key had not signed, at seq ${s.broken_at}`;
  const firstKept = (page.anchor?.seq ?? 0) + 1;
  if (s.signed_from > firstKept && s.signed_from - 1 > unsignedThrough) {
    return `records ${firstKept}–${s.signed_from - 1} are not covered by the signature (recorded before the signing key, or the seal was removed)`;
  }
  return null;
}

/**
 * Walks a team's whole chain through `fetchPage` (the CLI over HTTP, tests through the Worker), then checks
 * the seal on its head and anchor, that the anchor lies behind retention, and (given `fetchTotals`) that the
 * rollups and budget windows equal what the records add up to.
 */
export async function verifyChain(fetchPage: (cursor: number) => Promise<AuditPage>, opts: VerifyOptions = {}): Promise<VerifyResult> {
  let page = await fetchPage(0);
  const first = page;
  const verifier = new ChainVerifier(page.anchor, opts.hash ?? sha256Hex);
  const totals = new TotalsVerifier();
  let head = page.head;
  for (;;) {
    verifier.push(page.records);
    totals.push(page.records.map((r) => r.record));
    head = page.head;
    if (verifier.mismatch || page.next_cursor === null) break;
    page = await fetchPage(page.next_cursor);
  }
  verifier.finish(head);
  let mismatch = verifier.mismatch;
  const last = page;
  if (!mismatch) {
    const anchored = anchorProblem(first);
    if (anchored) mismatch = { seq: first.anchor!.seq, id: "(anchor)", reason: anchored };
  }
  if (!mismatch) {
    const sealed = sealProblem(last, opts.unsignedThrough ?? 0);
    if (sealed) mismatch = { seq: head.seq, id: "(signature)", reason: sealed };
  }
  if (!mismatch && opts.fetchTotals) {
    const rollups: AuditTotalsPage["rollups"] = [];
    let t = await opts.fetchTotals(0);
    const budgets = t.budget_spend;
    for (;;) {
      rollups.push(...t.rollups);
      if (t.next_cursor === null) break;
      t = await opts.fetchTotals(t.next_cursor);
    }
    mismatch = totals.check(rollups, budgets, first.anchor);
  }
  const seal = last.seal?.state ?? "absent";
  return {
    ok: mismatch === null,
    checked: verifier.checked,
    head,
    mismatch,
    seal,
    note: seal === "valid" ? null : (last.seal?.reason ?? "the gateway reported no seal"),
  };
}
