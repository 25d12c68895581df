import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { chainHash, verifyChain, type AuditPage, type AuditRecord } from "../../src/ledger/audit";
import { AuditSeal } from "../../src/ledger/audit-seal";
import type { AuditTotalsPage } from "../../src/ledger/audit-totals";
import type { UsageEvent } from "../../src/ledger/event";
import { chat, eventually, newTeamKey, uniqueTag, usageOf, userMsg, type TestKey } from "./helpers";
import { adminGet, ledgerOf, setPolicy } from "./ledger-helpers";

/**
 * Someone who can write a team's Ledger storage (its SQLite) but does not hold the Worker's AUDIT_SIGNING_KEY:
 * each edit below must make `audit verify` (chain, seal, anchor, rollups, budget windows) fail.
 */
const MINI = "openai/gpt-4o-mini";
const DAY = 86_400_000;

const page = async (team: string, cursor: number): Promise<AuditPage> => (await adminGet(`/v1/audit/export?team=${team}&cursor=${cursor}&limit=4`)).json();
const totals = async (team: string, cursor: number): Promise<AuditTotalsPage> => (await adminGet(`/v1/audit/totals?team=${team}&cursor=${cursor}&limit=3`)).json();
const verify = (team: string, unsignedThrough?: number) => verifyChain((c) => page(team, c), { fetchTotals: (c) => totals(team, c), unsignedThrough });

async function traffic(k: TestKey, n: number, user?: string): Promise<void> {
  const tag = uniqueTag("tamper");
  const before = (await page(k.team, 0)).head.seq;
  for (let i = 0; i < n; i++) {
    const r = await chat(k.key, { model: MINI, user, messages: userMsg(`[[tag=${tag};pt=${100 * (i + 1)};ct=${10 * i + 1}]] x`) });
    await r.text();
  }
  await eventually(async () => (await page(k.team, 0)).head.seq >= before + n);
}

function ev(team: string, i: number, createdAt: number): UsageEvent {
  return {
    id: `gen-tamper-${team}-${i}`, team, key_id: "k_t", user: null, model_requested: "m/x", model: "m/x", provider: "m", status: "ok",
    streamed: false, cancelled: false, estimated: false, prompt_tokens: 10, completion_tokens: 5, cached_tokens: 0, cache_write_tokens: 0,
    reasoning_tokens: 0, cost: 1000 + i, ttfb_ms: 1, latency_ms: 2, created_at: createdAt, attempts: [],
  };
}

describe("audit verify against a writer of the Ledger's storage", () => {
  it("an intact ledger verifies: chain, signed head, rollups and budget windows", async () => {
    const k = await newTeamKey();
    await setPolicy(k.team, { budgets: [{ scope: "team", period: "month", limit_usd: "100" }, { scope: "user", period: "day", limit_usd: "10" }] });
    await traffic(k, 6, "alice");
    expect(await verify(k.team)).toMatchObject({ ok: true, checked: 6, seal: "valid", mismatch: null });
  });

  it("rollups zeroed (usage shows $0) are found", async () => {
    const k = await newTeamKey();
    await traffic(k, 5);
    await runInDurableObject(ledgerOf(k.team), (_, state) => {
      state.storage.sql.exec(`UPDATE rollups SET cost = 0`);
    });
    expect((await usageOf(k.key)).totals.cost).toBe(0);
    const r = await verify(k.team);
    expect(r.ok).toBe(false);
    expect(r.mismatch!.id).toMatch(/^\(rollup /);
    expect(r.mismatch!.reason).toMatch(/rollup cost is 0, the records sum to \d+/);
  });

  it("a rollup row deleted, or a request count changed, is found", async () => {
    const k = await newTeamKey();
    await traffic(k, 3);
    await runInDurableObject(ledgerOf(k.team), (_, state) => {
      state.storage.sql.exec(`UPDATE rollups SET requests = requests - 1`);
    });
    expect((await verify(k.team)).mismatch?.reason).toMatch(/rollup requests is 2, the records sum to 3/);
    await runInDurableObject(ledgerOf(k.team), (_, state) => {
      state.storage.sql.exec(`DELETE FROM rollups`);
    });
    expect((await verify(k.team)).mismatch?.reason).toMatch(/no rollup row for 3 recorded requests/);
  });

  it("a budget window's spend lowered (so the budget admits more) is found", async () => {
    const k = await newTeamKey();
    await setPolicy(k.team, { budgets: [{ scope: "key", period: "day", limit_usd: "5" }] });
    await traffic(k, 3);
    await runInDurableObject(ledgerOf(k.team), (_, state) => {
      expect(state.storage.sql.exec(`UPDATE budget_spend SET spent = 0`).rowsWritten).toBe(1);
    });
    const r = await verify(k.team);
    expect(r.ok).toBe(false);
    expect(r.mismatch).toMatchObject({ id: expect.stringMatching(/^\(budget day:\d{4}-\d\d-\d\d:key:/) });
    expect(r.mismatch!.reason).toMatch(/budget window spend is 0 pUSD, its rollups sum to [1-9]\d*/);
  });

  it("the oldest records deleted and an anchor written, with retention off, are found", async () => {
    const team = `tamper-${uniqueTag("a")}`.toLowerCase();
    const stub = ledgerOf(team);
    await stub.record(Array.from({ length: 6 }, (_, i) => ev(team, i, Date.now() - 5 * DAY + i)));
    expect(await verify(team)).toMatchObject({ ok: true, checked: 6 });
    const rows = (await page(team, 0)).records;
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec(`DELETE FROM events WHERE seq <= 3`);
      state.storage.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_anchor', ?)`, JSON.stringify({ seq: 3, hash: rows[2]!.hash }));
    });
    const r = await verify(team);
    expect(r.ok).toBe(false);
    expect(r.mismatch).toMatchObject({ id: "(anchor)", seq: 3 });
    expect(r.mismatch!.reason).toContain("retention is off");

    // Retention switched on by the same writer: the anchor is still not one the key signed.
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('retention', '{"days":1,"require_export":false}')`);
      state.storage.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_anchor', ?)`, JSON.stringify({ seq: 3, hash: rows[2]!.hash, hour: "2000-01-01T00" }));
    });
    expect((await verify(team)).mismatch).toMatchObject({ id: "(signature)", reason: expect.stringContaining("does not match") });
  });

  it("a chain rewritten end to end with its head (hashes recomputed) fails on the signature, and so does a removed seal", async () => {
    const k = await newTeamKey();
    await traffic(k, 4);
    const rows = (await page(k.team, 0)).records;
    await runInDurableObject(ledgerOf(k.team), (instance, state) => {
      const sql = state.storage.sql;
      let prev = "0".repeat(64);
      for (const { record } of rows) {
        const r: AuditRecord = { ...record, cost: 0 };
        const hash = chainHash(prev, r);
        sql.exec(`UPDATE events SET cost = 0, hash = ? WHERE seq = ?`, hash, r.seq);
        prev = hash;
      }
      sql.exec(`UPDATE rollups SET cost = 0`);
      sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_head', ?)`, JSON.stringify({ seq: rows.at(-1)!.record.seq, hash: prev }));
      (instance as unknown as { events: { resetHead(): void } }).events.resetHead();
    });
    const r = await verify(k.team);
    expect(r.ok).toBe(false);
    expect(r.mismatch).toMatchObject({ id: "(signature)", reason: expect.stringContaining("does not match") });

    // The next batch is sealed over the forged head: the seal says where the key stopped vouching.
    await traffic(k, 1);
    const after = await verify(k.team);
    expect(after.mismatch).toMatchObject({ id: "(signature)", reason: expect.stringContaining("at seq 4") });

    const k2 = await newTeamKey();
    await traffic(k2, 2);
    await runInDurableObject(ledgerOf(k2.team), (_, state) => {
      state.storage.sql.exec(`DELETE FROM meta WHERE key = 'audit_seal'`);
    });
    expect((await verify(k2.team)).mismatch).toMatchObject({ id: "(signature)", reason: "the chain head carries no signature" });
    await traffic(k2, 1);
    expect((await verify(k2.team)).mismatch?.reason).toMatch(/records 1–2 are not covered by the signature/);
    // An operator who knows the ledger recorded seq 1–2 before the key was set accepts them unsigned.
    expect(await verify(k2.team, 2)).toMatchObject({ ok: true, seal: "valid" });
  });

  it("without AUDIT_SIGNING_KEY (dev) the head is unsigned and verify says so", async () => {
    const team = `tamper-${uniqueTag("u")}`.toLowerCase();
    const stub = ledgerOf(team);
    await stub.retention();
    await runInDurableObject(stub, (instance, state) => {
      (instance as unknown as { seal: AuditSeal }).seal = new AuditSeal(state.storage.sql, undefined, state.id.toString());
    });
    await stub.record([ev(team, 1, Date.now())]);
    const r = await verify(team);
    expect(r).toMatchObject({ ok: true, seal: "unsigned" });
    expect(r.note).toContain("AUDIT_SIGNING_KEY is not set");
  });
});
