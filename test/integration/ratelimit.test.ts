import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { insertKey } from "../../src/auth/queries";
import { displayPrefix, generateKey, generateKeyId, hashKey } from "../../src/auth/keys";
import { chat, expectError, newTeamKey, uniqueTag, usageOf, userMsg } from "./helpers";
import { setPolicy } from "./ledger-helpers";

const MINI = "openai/gpt-4o-mini";

async function secondKey(team: string): Promise<string> {
  const key = generateKey();
  await insertKey(env.DB, { id: generateKeyId(), team, name: null, hash: await hashKey(key), prefix: displayPrefix(key), scopes: ["inference", "usage:read"], created_at: Date.now(), expires_at: null });
  return key;
}

async function statuses(key: string, n: number, body: Record<string, unknown>): Promise<Response[]> {
  const out: Response[] = [];
  for (let i = 0; i < n; i++) out.push(await chat(key, body));
  return out;
}

describe("rate limits", () => {
  it("requests per minute per key: the one past the limit gets 429 with Retry-After and X-RateLimit-*", async () => {
    const k = await newTeamKey();
    await setPolicy(k.team, { rate_limits: [{ scope: "key", rpm: 5 }] });
    const tag = uniqueTag("rpm");
    const rs = await statuses(k.key, 6, { model: MINI, messages: userMsg(`[[tag=${tag}]] hi`) });
    expect(rs.slice(0, 5).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    await Promise.all(rs.slice(0, 5).map((r) => r.text()));
    const last = rs[5]!;
    const before = Date.now();
    const err = await expectError(last, 429, "rate_limited");
    expect(err.message).toMatch(new RegExp(`key ${k.id} is limited to 5 requests per minute`));
    expect(err.rate_limit).toMatchObject({ scope: "key", kind: "rpm", limit: 5, remaining: 0 });
    // One request's worth refills in 60 s / 5 = 12 s.
    expect(Number(last.headers.get("retry-after"))).toBeGreaterThanOrEqual(11);
    expect(Number(last.headers.get("retry-after"))).toBeLessThanOrEqual(12);
    expect(last.headers.get("x-ratelimit-limit")).toBe("5");
    expect(last.headers.get("x-ratelimit-remaining")).toBe("0");
    const reset = Number(last.headers.get("x-ratelimit-reset"));
    expect(reset).toBeGreaterThan(before + 55_000);
    expect(reset).toBeLessThan(before + 61_000);
    // Refused requests never reached a provider and are not counted.
    expect((await usageOf(k.key)).totals.requests).toBeLessThanOrEqual(5);
  });

  it("a team limit holds across the team's keys", async () => {
    const k = await newTeamKey();
    const other = await secondKey(k.team);
    await setPolicy(k.team, { rate_limits: [{ scope: "team", rpm: 3 }] });
    const tag = uniqueTag("rpm-team");
    const body = { model: MINI, messages: userMsg(`[[tag=${tag}]] hi`) };
    const codes: number[] = [];
    for (const key of [k.key, other, k.key, other, k.key]) {
      const r = await chat(key, body);
      codes.push(r.status);
      await r.text();
    }
    expect(codes).toEqual([200, 200, 200, 429, 429]);
  });

  it("a key limit for one key leaves the team's other keys alone", async () => {
    const k = await newTeamKey();
    const other = await secondKey(k.team);
    await setPolicy(k.team, { rate_limits: [{ scope: "key", key_id: k.id, rpm: 1 }] });
    const tag = uniqueTag("rpm-one");
    const body = { model: MINI, messages: userMsg(`[[tag=${tag}]] hi`) };
    const codes: number[] = [];
    for (const key of [k.key, k.key, other, other]) {
      const r = await chat(key, body);
      codes.push(r.status);
      await r.text();
    }
    expect(codes).toEqual([200, 429, 200, 200]);
  });

  it("tokens per minute count what the provider reported, not only the reservation", async () => {
    const k = await newTeamKey();
    await setPolicy(k.team, { rate_limits: [{ scope: "team", tpm: 1000 }] });
    const tag = uniqueTag("tpm");
    // Each request reserves its prompt estimate + max_tokens (~110) but uses 500 tokens.
    const body = { model: MINI, max_tokens: 100, messages: userMsg(`[[tag=${tag};pt=300;ct=200]] hi`) };
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await chat(k.key, body);
      codes.push(r.status);
      await r.text();
    }
    expect(codes).toEqual([200, 200, 429]);
  });

  it("a request larger than the token limit is refused outright", async () => {
    const k = await newTeamKey();
    await setPolicy(k.team, { rate_limits: [{ scope: "key", tpm: 50 }] });
    const r = await chat(k.key, { model: MINI, max_tokens: 1000, messages: userMsg("hello") });
    const err = await expectError(r, 429, "rate_limited");
    expect(err.message).toMatch(/exceed key .* limit of 50 tokens per minute/);
  });
});
