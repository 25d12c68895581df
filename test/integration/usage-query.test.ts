import { beforeAll, describe, expect, it } from "vitest";
import { chat, eventually, expectError, expectedCost, generationOf, gw, newTeamKey, sumDollars, uniqueTag, usageOf, userMsg, type TestKey } from "./helpers";

const MINI = "openai/gpt-4o-mini";
const today = () => new Date().toISOString().slice(0, 10);
const dayOffset = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString().slice(0, 10);

/** One team, two keys, requests over two models; one failed request that must not count. */
let k1: TestKey;
let k2: TestKey;
const generations: Record<string, any>[] = [];

async function send(k: TestKey, body: Record<string, unknown>): Promise<string> {
  const r = await chat(k.key, body);
  await r.text();
  return r.headers.get("x-request-id")!;
}

beforeAll(async () => {
  k1 = await newTeamKey();
  k2 = await newTeamKey({ team: k1.team });
  const tag = uniqueTag("uq");
  const ids = [
    await send(k1, { model: MINI, messages: userMsg(`[[tag=${tag};pt=100;ct=10]]`) }),
    await send(k1, { model: MINI, messages: userMsg(`[[tag=${tag};pt=200;ct=20;cached=50]]`) }),
    await send(k1, { model: "mock/echo", messages: userMsg("count me") }),
    await send(k2, { model: MINI, messages: userMsg(`[[tag=${tag};pt=1000;ct=1]]`), stream: true }),
  ];
  for (const id of ids) generations.push(await eventually(() => generationOf(k1.key, id)));
  const failed = await send(k2, { model: MINI, messages: userMsg(`[[tag=${tag};status=500]]`) });
  expect((await eventually(() => generationOf(k1.key, failed))).status).toBe("error");
});

const sumOf = (gs: Record<string, any>[]) => ({
  requests: gs.length,
  prompt_tokens: gs.reduce((s, g) => s + g.prompt_tokens, 0),
  completion_tokens: gs.reduce((s, g) => s + g.completion_tokens, 0),
  cached_tokens: gs.reduce((s, g) => s + g.cached_tokens, 0),
  cache_write_tokens: 0,
  reasoning_tokens: 0,
  cost: Number(sumDollars(gs.map((g) => g.cost_exact))),
  cost_exact: sumDollars(gs.map((g) => g.cost_exact)),
});

describe("GET /v1/usage", () => {
  it("totals what providers answered, exactly, over the default window", async () => {
    expect(generations.map((g) => g.cost_exact)).toEqual([
      expectedCost(MINI, { prompt: 100, completion: 10 }),
      expectedCost(MINI, { prompt: 200, completion: 20, cached: 50 }),
      generations[2]!.cost_exact,
      expectedCost(MINI, { prompt: 1000, completion: 1 }),
    ]);
    const u = await usageOf(k1.key);
    expect(u).toEqual({
      team: k1.team,
      from: dayOffset(-29),
      to: today(),
      group_by: [],
      totals: sumOf(generations),
      groups: [],
    });
    expect(u.totals.cost_exact).toBe(sumDollars(generations.map((g) => g.cost_exact)));
  });

  it("groups by model", async () => {
    const u = await usageOf(k1.key, "group_by=model");
    expect(u.group_by).toEqual(["model"]);
    expect(u.groups).toEqual([
      { model: "mock/echo", ...sumOf([generations[2]!]) },
      { model: MINI, ...sumOf([generations[0]!, generations[1]!, generations[3]!]) },
    ]);
  });

  it("groups by key", async () => {
    const u = await usageOf(k2.key, "group_by=key");
    const expected = [
      { key: k1.id, ...sumOf(generations.slice(0, 3)) },
      { key: k2.id, ...sumOf([generations[3]!]) },
    ].sort((a, b) => (a.key < b.key ? -1 : 1));
    expect(u.groups).toEqual(expected);
  });

  it("groups by day, and by day and model", async () => {
    const byDay = await usageOf(k1.key, "group_by=day");
    expect(byDay.groups).toEqual([{ day: today(), ...sumOf(generations) }]);
    const both = await usageOf(k1.key, "group_by=day,model");
    expect(both.group_by).toEqual(["day", "model"]);
    expect(both.groups.map((g: any) => [g.day, g.model, g.requests])).toEqual([
      [today(), "mock/echo", 1],
      [today(), MINI, 3],
    ]);
  });

  it("writes its fields in one fixed order: usage totals and groups, a generation and its segments", async () => {
    const totals = ["requests", "prompt_tokens", "completion_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens", "cost", "cost_exact"];
    const u = await usageOf(k1.key, "group_by=day,model");
    expect(Object.keys(u.totals)).toEqual(totals);
    expect(Object.keys(u.groups[0])).toEqual(["day", "model", ...totals]);
    const g = generations[1]!;
    expect(Object.keys(g)).toEqual([
      "id", "team", "key_id", "user", "model", "model_requested", "provider", "status", "streamed", "cancelled", "estimated",
      "estimate_method", "prompt_tokens", "completion_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens", "cost",
      "cost_exact", "capped", "latency_ms", "ttfb_ms", "created_at", "attempts", "segments",
    ]);
    expect(Object.keys(g.segments[0])).toEqual([
      "provider", "model", "prompt_tokens", "completion_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens", "cost", "cost_exact", "estimated",
    ]);
  });

  it("filters by from / to and by key", async () => {
    const none = { requests: 0, prompt_tokens: 0, completion_tokens: 0, cached_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0, cost: 0, cost_exact: "0.000000000000" };
    expect((await usageOf(k1.key, `from=${today()}&to=${today()}`)).totals).toEqual(sumOf(generations));
    expect((await usageOf(k1.key, `from=${dayOffset(1)}&to=${dayOffset(2)}`)).totals).toEqual(none);
    expect((await usageOf(k1.key, `from=${dayOffset(-10)}&to=${dayOffset(-1)}`)).totals).toEqual(none);
    const nextHour = new Date(Date.now() + 3_600_000).toISOString().slice(0, 13);
    expect((await usageOf(k1.key, `from=${nextHour}:00Z&to=${dayOffset(1)}`)).totals).toEqual(none);
    expect((await usageOf(k1.key, `key_id=${k2.id}`)).totals).toEqual(sumOf([generations[3]!]));
  });

  it("shows a team only its own spend", async () => {
    const other = await newTeamKey();
    expect((await usageOf(other.key)).totals.requests).toBe(0);
    expect((await gw(`/v1/generation?id=${generations[0]!.id}`, { key: other.key })).status).toBe(404);
  });

  it("rejects an unknown group and bad dates with 400", async () => {
    const e = await expectError(await gw("/v1/usage?group_by=model,colour", { key: k1.key }), 400, "bad_request");
    expect(e.message).toBe("group_by: unknown group colour; use day, hour, model, provider, key, user");
    expect(e.param).toBe("group_by");
    const e2 = await expectError(await gw("/v1/usage?from=yesterday", { key: k1.key }), 400, "bad_request");
    expect(e2.param).toBe("from");
    const e3 = await expectError(await gw(`/v1/usage?from=${today()}&to=${dayOffset(-1)}`, { key: k1.key }), 400, "bad_request");
    expect(e3.message).toBe("from is after to");
    const e4 = await expectError(await gw("/v1/usage?from=2026-13-45", { key: k1.key }), 400, "bad_request");
    expect(e4.message).toBe("from: 2026-13-45 is not a date");
    const e5 = await expectError(await gw("/v1/usage?to=2026-02-30", { key: k1.key }), 400, "bad_request");
    expect(e5.message).toBe("to: 2026-02-30 is not a date");
  });
});
