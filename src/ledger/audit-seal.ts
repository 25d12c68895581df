import { GENESIS_HASH, type AuditAnchor, type ChainLink, type SealState } from "./audit";
import { getMeta, setMeta } from "./schema";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

/**
 * The seal on the audit chain: an HMAC, under the Worker secret AUDIT_SIGNING_KEY, of the chain's head and
 * anchor and of this object's id. The hash chain alone binds every record to the head; the seal binds the head
 * to a key the object's storage does not hold, so whoever can write the Ledger's SQLite — and so re-chain
 * rows, move the head or write an anchor — cannot make a head that verifies.
 *
 * Written once per batch (record), per prune and per migration, in the same transaction as the change. Before
 * it signs a new head the Ledger checks the stored seal over the stored head: if that head was not signed by
 * the key (storage edited, or the key was unset for a while), the new seal carries `broken_at`, the last seq
 * the key cannot vouch for, and verification fails from then on. A ledger that recorded before the key was set
 * is sealed from `signed_from`; the records before it are chained but not signed.
 */
export interface SealRecord {
  /** The first seq the seal covers (1: every record since the ledger began). */
  signed_from: number;
  /** 0, or the last seq recorded under a head the key had not signed. */
  broken_at: number;
  sig: string;
}

const SEAL_KEY = "audit_seal";

function sealStatement(objectId: string, head: ChainLink, anchor: AuditAnchor | null, signedFrom: number, brokenAt: number): string {
  const a = anchor ? `${anchor.seq}\n${anchor.hash}\n${anchor.hour ?? ""}` : "-\n-\n-";
  return `switchyard-audit-seal-v1\n${objectId}\n${head.seq}\n${head.hash}\n${a}\n${signedFrom}\n${brokenAt}`;
}

export class AuditSeal {
  /** The stored head, anchor and seal this object last found valid, as raw strings. */
  private lastGood: { stored: string; state: SealState } | null = null;

  constructor(
    private readonly sql: SqlStorage,
    private readonly key: string | undefined,
    private readonly objectId: string,
  ) {}

  private storedHead(): ChainLink {
    const h = getMeta(this.sql, "audit_head");
    return h ? (JSON.parse(h) as ChainLink) : { seq: 0, hash: GENESIS_HASH };
  }

  private lastRowSeq(): number {
    return this.sql.exec<{ s: number | null }>(`SELECT MAX(seq) AS s FROM events`).one().s ?? 0;
  }

  private sign(head: ChainLink, anchor: AuditAnchor | null, signedFrom: number, brokenAt: number): string {
    return hmacSha256Hex(this.key!, sealStatement(this.objectId, head, anchor, signedFrom, brokenAt));
  }

  /** Checks the stored seal against the stored head and anchor. */
  state(): SealState {
    if (!this.key) return { state: "unsigned", signed_from: 0, broken_at: 0, reason: "AUDIT_SIGNING_KEY is not set: the chain head is not signed" };
    const { headRaw, anchorRaw, raw } = this.readStored();
    const stored = `${headRaw}\u0000${anchorRaw}\u0000${raw}`;
    // Storage exactly as this object last sealed or checked it: the signature is known good.
    if (this.lastGood?.stored === stored) return this.lastGood.state;
    const head: ChainLink = headRaw ? JSON.parse(headRaw) : { seq: 0, hash: GENESIS_HASH };
    const anchor: AuditAnchor | null = anchorRaw ? JSON.parse(anchorRaw) : null;
    if (!raw) {
      if (head.seq === 0 && anchor === null && this.lastRowSeq() === 0) return { state: "valid", signed_from: 1, broken_at: 0, reason: null };
      return { state: "invalid", signed_from: 0, broken_at: 0, reason: "the chain head carries no signature" };
    }
    const seal = JSON.parse(raw) as SealRecord;
    if (this.sign(head, anchor, seal.signed_from, seal.broken_at) !== seal.sig) {
      return { state: "invalid", signed_from: seal.signed_from, broken_at: seal.broken_at, reason: "the signature does not match the chain's head and anchor" };
    }
    const state: SealState = { state: "valid", signed_from: seal.signed_from, broken_at: seal.broken_at, reason: null };
    this.lastGood = { stored, state };
    return state;
  }

  /** Call inside the transaction, before the head or anchor changes: what the next seal carries over. */
  prior(): { signed_from: number; broken_at: number } | null {
    if (!this.key) return null;
    const s = this.state();
    if (s.state === "valid") return { signed_from: s.signed_from, broken_at: s.broken_at };
    const lastSeq = Math.max(this.storedHead().seq, this.lastRowSeq());
    if (s.signed_from === 0) return { signed_from: lastSeq + 1, broken_at: 0 };
    return { signed_from: s.signed_from, broken_at: Math.max(s.broken_at, lastSeq) };
  }

  /** Call in the same transaction, after the head or anchor changed. */
  seal(prior: { signed_from: number; broken_at: number } | null): void {
    if (!prior) return;
    const { headRaw, anchorRaw } = this.readStored();
    const head: ChainLink = headRaw ? JSON.parse(headRaw) : { seq: 0, hash: GENESIS_HASH };
    const anchor: AuditAnchor | null = anchorRaw ? JSON.parse(anchorRaw) : null;
    const raw = JSON.stringify({ ...prior, sig: this.sign(head, anchor, prior.signed_from, prior.broken_at) } satisfies SealRecord);
    setMeta(this.sql, SEAL_KEY, raw);
    // The next check skips the HMAC only while storage still holds exactly these values (a rolled-back
    // transaction or any edit changes them, and the seal is then checked in full).
    this.lastGood = { stored: `${headRaw}\u0000${anchorRaw}\u0000${raw}`, state: { state: "valid", ...prior, reason: null } };
  }

  private readStored(): { headRaw: string | null; anchorRaw: string | null; raw: string | null } {
    const rows = this.sql
      .exec<{ key: string; value: string }>(`SELECT key, value FROM meta WHERE key IN ('audit_head', 'audit_anchor', '${SEAL_KEY}')`)
      .toArray();
    const value = (k: string) => rows.find((r) => r.key === k)?.value ?? null;
    return { headRaw: value("audit_head"), anchorRaw: value("audit_anchor"), raw: value(SEAL_KEY) };
  }
}

/** HMAC-SHA-256, hex; synchronous, as the seal is written inside the ledger's `transactionSync`. */
export function hmacSha256Hex(key: string, message: string): string {
  return bytesToHex(hmac(sha256, utf8ToBytes(key), utf8ToBytes(message)));
}
