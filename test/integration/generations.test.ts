import { beforeAll, describe, expect, it } from "vitest";
import { chat, eventually, expectError, generationOf, gw, newTeamKey, uniqueTag, userMsg, type TestKey } from "./helpers";

const MINI = "openai/gpt-4o-mini";

/** One team, five requests (one failed), and another team with one request that must never show. */
let k: TestKey;
let other: TestKey;
const ids: string[] = [];

async function send(key: string, body: Record<string, unknown>): Promise<string> {
  const r = await chat(key, body);
  await r.text();
  return r.headers.get("x-request-id")!;
}

async function page(key: string, query: string): Promise<{ data: Record<string, any>[]; has_more: boolean; next_before: string | null }> {
  const r = await gw(`/v1/generations${query}`, { key });
  const text = await r.text();
  expect(r.status, text).toBe(200);
  return JSON.parse(text);
}

beforeAll(async () => {
  k = await newTeamKey();
  other = await newTeamKey();
  const tag = uniqueTag("gens");
  for (const [i, text] of [`[[tag=${tag};pt=10;ct=1]]`, "one", `[[tag=${tag};status=500]]`, `[[tag=${tag};pt=30;ct=3]]`, "five"].entries()) {
    const id = await send(k.key, { model: i % 2 ? "mock/echo" : MINI, messages: userMsg(text) });
    // In order: each lands before the next is sent, so arrival order is the order sent.
    await eventually(() => generationOf(k.key, id));
    ids.push(id);
  }
  const foreign = await send(other.key, { model: "mock/echo", messages: userMsg("not yours") });
  await eventually(() => generationOf(other.key, foreign));
});

describe("GET /v1/generations", () => {
  it("lists the team's records newest first, failed ones included, each as /v1/generation shows it", async () => {
    const p = await page(k.key, "");
    expect(p.data.map((g) => g.id)).toEqual([...ids].reverse());
    expect(p.has_more).toBe(false);
    expect(p.next_before).toBeNull();
    expect(p.data.map((g) => g.status)).toContain("error");
    for (const g of p.data) expect(g).toEqual(await generationOf(k.key, g.id));
  });

  it("pages with limit and before until the oldest, without repeats", async () => {
    const seen: string[] = [];
    let q = "?limit=2";
    for (let pages = 0; pages < 10; pages++) {
      const p = await page(k.key, q);
      expect(p.data.length).toBeLessThanOrEqual(2);
      seen.push(...p.data.map((g) => g.id));
      if (!p.has_more) break;
      expect(p.next_before).toMatch(/^\d+$/);
      q = `?limit=2&before=${p.next_before}`;
    }
    expect(seen).toEqual([...ids].reverse());
  });

  it("is team-scoped and needs usage:read", async () => {
    const p = await page(other.key, "?limit=100");
    expect(p.data).toHaveLength(1);
    expect(p.data[0]!.team).toBe(other.team);
    const caller = await newTeamKey({ team: k.team, scopes: ["inference"] });
    const e = await expectError(await gw("/v1/generations", { key: caller.key }), 403, "forbidden");
    expect(e.message).toBe("this API key lacks the usage:read scope");
    await expectError(await gw("/v1/generations"), 401, "unauthorized");
  });

  it("answers bad paging parameters with 400", async () => {
    for (const q of ["?limit=0", "?limit=101", "?limit=x", "?before=-1", "?before=abc"]) {
      await expectError(await gw(`/v1/generations${q}`, { key: k.key }), 400, "bad_request");
    }
    await expectError(await gw("/v1/generations", { key: k.key, method: "POST" }), 405, "method_not_allowed");
  });
});

describe("GET /v1/key", () => {
  it("answers a read-only key, which is what a team hands to whoever watches the spend", async () => {
    const reader = await newTeamKey({ team: k.team, scopes: ["usage:read"] });
    const r = await gw("/v1/key", { key: reader.key });
    const text = await r.text();
    expect(r.status, text).toBe(200);
    expect(JSON.parse(text).data).toMatchObject({ key_id: reader.id, team: k.team, scopes: ["usage:read"] });
  });
});
