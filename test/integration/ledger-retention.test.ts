import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { verifyChain, type AuditPage } from "../../src/ledger/audit";
import type { UsageEvent } from "../../src/ledger/event";
import { chat, gw, newTeamKey, uniqueTag, userMsg } from "./helpers";
import { adminGet, ledgerOf } from "./ledger-helpers";

const DAY = 86_400_000;

function ev(team: string, i: number, createdAt: number): UsageEvent {
  return {
    id: `gen-ret-${team}-${i}`, team, key_id: "k_r", user: i % 2 ? "u1" : null, model_requested: "m/x", model: "m/x", provider: "m", status: "ok",
    streamed: false, cancelled: false, estimated: false, prompt_tokens: 10, completion_tokens: 5, cached_tokens: 0, cache_write_tokens: 0,
    reasoning_tokens: 0, cost: 1000 + i, ttfb_ms: 1, latency_ms: 2, created_at: createdAt, attempts: [],
    prompt: i % 2 ? `prompt ${i}` : undefined,
  };
}

async function allRecords(team: string): Promise<Record<string, any>[]> {
  const r = await adminGet(`/v1/usage/export?team=${team}`);
  return (await r.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

const page = async (team: string, cursor: number): Promise<AuditPage> => (await adminGet(`/v1/audit/export?team=${team}&cursor=${cursor}`)).json();

describe("usage export", () => {
  it("streams NDJSON and CSV with a cursor to resume from, for keys with usage:read", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("export");
    for (let i = 0; i < 5; i++) await (await chat(k.key, { model: "openai/gpt-4o-mini", user: `u,"${i}"`, messages: userMsg(`[[tag=${tag};pt=${i + 1};ct=2]] x`) })).text();
    const { eventually } = await import("./helpers");
    const all = await eventually(async () => {
      const r = await gw("/v1/usage/export", { key: k.key });
      expect(r.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
      const lines = (await r.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l));
      return lines.length === 5 ? lines : null;
    });
    expect(all.map((x) => x.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(all[0]).toMatchObject({ team: k.team, key_id: k.id, user: 'u,"0"', model: "openai/gpt-4o-mini", status: "ok", prompt_tokens: 1, completion_tokens: 2 });
    expect(all[0].hash).toMatch(/^[0-9a-f]{64}$/);
    expect(all[0].attempts[0]).toMatchObject({ provider: "openai", ok: true });

    const rest = (await (await gw("/v1/usage/export?cursor=2&limit=2", { key: k.key })).text()).split("\n").filter(Boolean).map((l) => JSON.parse(l));
    expect(rest.map((x) => x.seq)).toEqual([3, 4]);

    const csv = await (await gw("/v1/usage/export?format=csv", { key: k.key })).text();
    const rows = csv.trimEnd().split("\n");
    expect(rows[0]).toBe("seq,id,created_at,key_id,user,model_requested,model,provider,status,streamed,cancelled,estimated,prompt_tokens,completion_tokens,cached_tokens,cache_write_tokens,reasoning_tokens,cost_exact,latency_ms,ttfb_ms,attempts,hash");
    expect(rows).toHaveLength(6);
    expect(rows[1]).toContain(`"u,""0"""`);
    expect(rows[1]).toContain(`,${all[0].cost_exact},`);

    const noScope = await newTeamKey({ scopes: ["inference"] });
    expect((await gw("/v1/usage/export", { key: noScope.key })).status).toBe(403);
  });
});

describe("retention", () => {
  it("prunes raw records past their age by alarm, never past the export watermark; rollups and the chain survive", async () => {
    const team = `ret-${uniqueTag("r")}`.toLowerCase();
    const stub = ledgerOf(team);
    const now = Date.now();
    const old = Array.from({ length: 6 }, (_, i) => ev(team, i, now - 5 * DAY + i));
    const fresh = Array.from({ length: 3 }, (_, i) => ev(team, 10 + i, now));
    await stub.record([...old, ...fresh]);
    const usageBefore = await (await adminGet(`/v1/usage?team=${team}&from=2000-01-01`)).json<any>();
    expect(usageBefore.totals.requests).toBe(9);

    await stub.setRetention({ days: 2, require_export: true });
    // Nothing exported yet: nothing may go.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await allRecords(team)).toHaveLength(9);

    // An export sink acknowledges the first four records.
    const ack = await gw(`/v1/usage/export/ack?team=${team}`, { method: "POST", headers: { authorization: "Bearer test-admin-token-0123456789" }, json: { cursor: 4 } });
    expect(await ack.json()).toEqual({ team, watermark: 4 });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await allRecords(team)).map((r) => r.seq)).toEqual([5, 6, 7, 8, 9]);
    expect(await stub.content(old[1]!.id)).toBeNull();
    expect(await stub.content(old[5]!.id)).toEqual({ prompt: "prompt 5", completion: null });

    // The chain still verifies from the anchor the pruning left.
    expect(await verifyChain((c) => page(team, c))).toMatchObject({ ok: true, checked: 5 });

    // Without the export requirement every old record goes; fresh ones and every rollup stay.
    await stub.setRetention({ days: 2, require_export: false });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await allRecords(team)).map((r) => r.seq)).toEqual([7, 8, 9]);
    expect(await verifyChain((c) => page(team, c))).toMatchObject({ ok: true, checked: 3 });
    const usageAfter = await (await adminGet(`/v1/usage?team=${team}&from=2000-01-01`)).json<any>();
    expect(usageAfter.totals).toEqual(usageBefore.totals);
    // The alarm keeps itself scheduled.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
  });

  it("an export acknowledgement is for the operator only", async () => {
    const k = await newTeamKey();
    const r = await gw("/v1/usage/export/ack", { method: "POST", key: k.key, json: { cursor: 1 } });
    expect(r.status).toBe(403);
  });
});
