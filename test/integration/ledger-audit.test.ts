import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { verifyChain, type AuditPage } from "../../src/ledger/audit";
import type { AuditSeal } from "../../src/ledger/audit-seal";
import { EventBook } from "../../src/ledger/event-book";
import { migrate, SCHEMA_STEPS } from "../../src/ledger/schema";
import { chat, eventually, gw, newTeamKey, uniqueTag, usageOf, userMsg, type TestKey } from "./helpers";
import { adminGet, ledgerOf, setPolicy } from "./ledger-helpers";

const MINI = "openai/gpt-4o-mini";
const CLAUDE = "anthropic/claude-haiku-4.5";
const WEATHER = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];

async function page(team: string, cursor: number, limit = 7): Promise<AuditPage> {
  const r = await adminGet(`/v1/audit/export?team=${team}&cursor=${cursor}&limit=${limit}`);
  expect(r.status).toBe(200);
  return r.json();
}

async function traffic(k: TestKey, n: number, extra: Record<string, unknown> = {}): Promise<void> {
  const tag = uniqueTag("audit");
  for (let i = 0; i < n; i++) {
    const r = await chat(k.key, { model: MINI, stream: i % 3 === 0, ...extra, messages: userMsg(`[[tag=${tag};pt=${i + 1};ct=${2 * i + 1}${i === 4 ? ";status=400" : ""}]] secret prompt ${i}`) });
    await r.text();
  }
  await eventually(async () => (await page(k.team, 0, 1000)).records.length === n);
}

describe("audit chain", () => {
  it("verifies an intact chain across pages, and names the row a tamperer changed", async () => {
    const k = await newTeamKey();
    await traffic(k, 20);
    const intact = await verifyChain((c) => page(k.team, c));
    expect(intact).toMatchObject({ ok: true, checked: 20, mismatch: null, head: { seq: 20 } });

    const victim = (await page(k.team, 10, 1)).records[0]!.record;
    await runInDurableObject(ledgerOf(k.team), (_, state) => {
      state.storage.sql.exec(`UPDATE events SET cost = cost + 1 WHERE id = ?`, victim.id);
    });
    const tampered = await verifyChain((c) => page(k.team, c));
    expect(tampered.ok).toBe(false);
    expect(tampered.mismatch).toMatchObject({ seq: victim.seq, id: victim.id });
  });

  it("a row rewritten with a recomputed hash breaks the link to the next row; a deleted last row breaks the head", async () => {
    const k = await newTeamKey();
    await traffic(k, 6);
    const rows = (await page(k.team, 0, 100)).records;
    await runInDurableObject(ledgerOf(k.team), async (_, state) => {
      const { chainHash } = await import("../../src/ledger/audit");
      const r3 = { ...rows[2]!.record, completion_tokens: 0 };
      state.storage.sql.exec(`UPDATE events SET completion_tokens = 0, hash = ? WHERE seq = 3`, chainHash(rows[1]!.hash, r3));
    });
    expect((await verifyChain((c) => page(k.team, c))).mismatch).toMatchObject({ seq: 4, id: rows[3]!.record.id });

    const k2 = await newTeamKey();
    await traffic(k2, 3);
    await runInDurableObject(ledgerOf(k2.team), (_, state) => {
      state.storage.sql.exec(`DELETE FROM events WHERE seq = 3`);
    });
    expect((await verifyChain((c) => page(k2.team, c))).mismatch).toMatchObject({ id: "(head)" });
  });

  it("is for the operator only", async () => {
    const k = await newTeamKey();
    const r = await gw(`/v1/audit/export?team=${k.team}`, { key: k.key });
    expect(r.status).toBe(403);
  });

  it("stores prompts only when the team's policy opts in, and then chains their hash", async () => {
    const quiet = await newTeamKey();
    await traffic(quiet, 2);
    const loud = await newTeamKey();
    await setPolicy(loud.team, { data: { log_prompts: true } });
    await traffic(loud, 2);
    const content = async (team: string) =>
      runInDurableObject(ledgerOf(team), (_, state) => state.storage.sql.exec(`SELECT prompt FROM content`).toArray());
    expect(await content(quiet.team)).toEqual([]);
    expect((await page(quiet.team, 0)).records.every((r) => r.record.content_sha256 === null)).toBe(true);
    const logged = await content(loud.team);
    expect(logged).toHaveLength(2);
    expect(String(logged[0]!.prompt)).toContain("secret prompt 0");
    expect((await page(loud.team, 0)).records.every((r) => /^[0-9a-f]{64}$/.test(r.record.content_sha256 ?? ""))).toBe(true);
    expect((await verifyChain((c) => page(loud.team, c))).ok).toBe(true);
    expect((await usageOf(loud.key)).totals.requests).toBe(2);
  });

  it("keeps each answer beside its prompt, streamed or not, passed through or translated", async () => {
    const k = await newTeamKey();
    await setPolicy(k.team, { data: { log_prompts: true } });
    const tag = uniqueTag("answers");
    const sent: { id: string; what: string }[] = [];
    const send = async (what: string, path: string, body: Record<string, unknown>) => {
      const r = await gw(path, { key: k.key, method: "POST", json: body });
      expect(r.status, what).toBe(200);
      await r.text();
      sent.push({ id: r.headers.get("x-request-id")!, what });
    };
    const user = (d: string) => [{ role: "user", content: `[[tag=${tag};${d}]] keep this` }];
    await send("openai json", "/v1/chat/completions", { model: MINI, messages: user("reply=plain answer") });
    await send("openai stream", "/v1/chat/completions", { model: MINI, stream: true, messages: user("reply=streamed answer") });
    await send("openai stream, tool", "/v1/chat/completions", { model: MINI, stream: true, messages: user("reply=let me look;tool=get_weather"), tools: WEATHER });
    await send("anthropic stream, tool", "/v1/messages", { model: CLAUDE, max_tokens: 50, stream: true, messages: user("reply=let me look;tool=get_weather"), tools: [{ name: "get_weather", input_schema: { type: "object" } }] });
    await send("anthropic json", "/v1/messages", { model: CLAUDE, max_tokens: 50, messages: user("reply=whole from claude") });
    await send("anthropic stream", "/v1/messages", { model: CLAUDE, max_tokens: 50, stream: true, messages: user("reply=from claude") });
    await send("translated stream", "/v1/messages", { model: MINI, max_tokens: 50, stream: true, messages: user("reply=from gpt") });
    await send("translated json", "/v1/chat/completions", { model: CLAUDE, messages: user("reply=json from claude") });
    const rows = await eventually(async () => {
      const r = await runInDurableObject(ledgerOf(k.team), (_, state) => state.storage.sql.exec(`SELECT id, prompt, completion FROM content`).toArray());
      return r.length === sent.length ? r : null;
    });
    const completion = (what: string) => JSON.parse(String(rows.find((r) => r.id === sent.find((s) => s.what === what)!.id)!.completion));
    expect(completion("openai json")).toMatchObject({ role: "assistant", content: "plain answer" });
    expect(completion("openai stream")).toEqual({ content: "streamed answer" });
    expect(completion("openai stream, tool")).toEqual({ content: "let me look", tool_calls: [{ name: "get_weather", arguments: '{"city":"Paris"}' }] });
    expect(completion("anthropic stream, tool")).toEqual({ content: "let me look", tool_calls: [{ name: "get_weather", arguments: '{"city":"Paris"}' }] });
    expect(completion("anthropic stream")).toEqual({ content: "from claude" });
    expect(completion("anthropic json")).toEqual([{ type: "text", text: "whole from claude" }]);
    expect(completion("translated stream")).toEqual({ content: "from gpt" });
    expect(completion("translated json")).toMatchObject({ role: "assistant", content: "json from claude" });
    for (const r of rows) expect(String(r.prompt)).toContain("keep this");
    expect((await verifyChain((c) => page(k.team, c))).ok).toBe(true);
  });

  it("records kept before the chain existed join it, in order, when the ledger migrates", async () => {
    const team = `v1-${uniqueTag("mig")}`;
    const stub = ledgerOf(team);
    await stub.retention(); // create the object at the current schema
    await runInDurableObject(stub, (instance, state) => {
      const sql = state.storage.sql;
      // Back to schema 1, as a ledger deployed before the chain would be, with three records.
      for (const t of ["events", "rollups", "content", "budget_spend", "leases", "rate_buckets"]) sql.exec(`DROP TABLE ${t}`);
      sql.exec(`DELETE FROM meta`);
      for (const stmt of SCHEMA_STEPS[0]!) sql.exec(stmt);
      sql.exec(`INSERT INTO meta (key, value) VALUES ('schema', '1')`);
      for (let i = 1; i <= 3; i++) {
        sql.exec(
          `INSERT INTO events (id, created_at, hour, key_id, user_id, model_requested, model, provider, status, answered, streamed,
             cancelled, estimated, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, cost,
             ttfb_ms, latency_ms, attempts) VALUES (?, ?, '2026-01-01T00', 'k', '', 'm/x', 'm/x', 'm', 'ok', 1, 0, 0, 0, 1, 1, 0, 0, 0, ?, 1, 1, '[]')`,
          `old-${i}`, 1_767_225_600_000 + i, i * 1000,
        );
      }
      const events = new EventBook(sql);
      // As the Ledger's constructor does: the migration seals the chain it made, from the first record after it.
      const seal = (instance as unknown as { seal: AuditSeal }).seal;
      expect(
        migrate(state.storage, (from) => {
          const prior = seal.prior();
          if (from === 1) events.chainUnhashed();
          seal.seal(prior);
        }),
      ).toBe(1);
      (instance as unknown as { events: EventBook }).events.resetHead();
    });
    const r = await verifyChain((c) => page(team, c));
    expect(r).toMatchObject({ ok: false, checked: 3, head: { seq: 3 }, mismatch: { id: "(signature)" } });
    expect(r.mismatch!.reason).toMatch(/records 1–3 are not covered by the signature/);
    // The operator, who upgraded a ledger of three records, accepts them unsigned.
    expect(await verifyChain((c) => page(team, c), { unsignedThrough: 3 })).toMatchObject({ ok: true, checked: 3, seal: "valid" });
  });
});
