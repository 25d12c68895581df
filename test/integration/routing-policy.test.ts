import { describe, expect, it } from "vitest";
import { chat, expectError, newTeamKey, uniqueTag, userMsg } from "./helpers";
import { calls, setPolicy, teamWithPolicy } from "./routing-helpers";

/*
 * The team policy and the request's routing fields (OpenRouter's `models`, `provider{...}`, `:floor` /
 * `:nitro`), merged: a request narrows what the policy allows, never widens it. openai, groq and deepseek
 * point at the fake upstream; mistral is not configured.
 */
const LUNA = "openai/gpt-6-luna";
const LLAMA = "groq/llama-3.1-8b-instant";
const MINI41 = "openai/gpt-4.1-mini";
const DEEP = "deepseek/deepseek-flash";

/** The model that served: a stream names it in its last chunk (its headers may name a first provider that then failed before its first token). */
const servedBy = async (r: Response) => {
  const text = await r.text();
  expect(r.status, text).toBe(200);
  if (!r.headers.get("content-type")?.startsWith("text/event-stream")) return r.headers.get("x-switchyard-model");
  const last = text.split("\n\n").filter((e) => e.startsWith("data: {")).at(-1)!;
  return JSON.parse(last.slice(6)).model as string;
};

describe("team policy and request routing fields", () => {
  it("a policy that denies every candidate: 403, each candidate with its reason", async () => {
    const k = await teamWithPolicy({ models: { deny: ["openai/*"] } });
    const e = await expectError(await chat(k.key, { models: [LUNA, MINI41], messages: userMsg("hi") }), 403, "policy_denied");
    expect(e.excluded).toEqual([
      { model: LUNA, provider: "openai", reason: 'denied by team policy (models.deny "openai/*")', by: "policy" },
      { model: MINI41, provider: "openai", reason: 'denied by team policy (models.deny "openai/*")', by: "policy" },
    ]);
    expect(e.message).toMatch(/^the team's policy allows none of the candidates \(openai\/gpt-6-luna via openai: denied/);
  });

  it("nothing can serve for mixed reasons: 404 listing every candidate and why", async () => {
    const k = await teamWithPolicy({ data: { data_collection: "deny" } });
    const r = await chat(k.key, {
      models: [DEEP, LLAMA, "openai/gpt-4.1", "mistral/mistral-small-2603", "nope/nothing"],
      provider: { ignore: ["groq"], max_price: { prompt: 1 } },
      messages: userMsg("hi"),
    });
    const e = await expectError(r, 404, "no_route");
    expect(e.unknown).toEqual([{ model: "nope/nothing", suggestions: expect.any(Array) }]);
    expect(e.excluded).toEqual([
      { model: DEEP, provider: "deepseek", reason: "provider may train on data (data_collection: deny)", by: "policy" },
      { model: LLAMA, provider: "groq", reason: "in provider.ignore", by: "request" },
      { model: "openai/gpt-4.1", provider: "openai", reason: "over max_price (prompt $2/M > $1/M)", by: "request" },
      { model: "mistral/mistral-small-2603", provider: "mistral", reason: "provider mistral is not configured (MISTRAL_API_KEY unset)" },
    ]);
    expect(e.message).toContain("nope/nothing: not in the catalog");
    expect(e.message).toContain("deepseek/deepseek-flash via deepseek: provider may train on data");
  });

  it("a request narrows, never widens: its own allow cannot undo the policy's deny", async () => {
    const k = await teamWithPolicy({ models: { allow: ["groq/*", "deepseek/*"] }, data: { data_collection: "deny" } });
    const widen = await chat(k.key, { model: DEEP, provider: { data_collection: "allow" }, messages: userMsg("hi") });
    expect((await expectError(widen, 403, "policy_denied")).excluded[0].reason).toMatch(/^provider may train on data/);
    const outside = await chat(k.key, { model: LUNA, messages: userMsg("hi") });
    expect((await expectError(outside, 403, "policy_denied")).excluded[0].reason).toBe("not allowed by team policy (models.allow)");
    const narrowed = await chat(k.key, { model: LLAMA, provider: { only: ["openai"] }, messages: userMsg("hi") });
    expect((await expectError(narrowed, 404, "no_route")).excluded[0]).toEqual({ model: LLAMA, provider: "groq", reason: "not in provider.only", by: "request" });
    expect(await servedBy(await chat(k.key, { model: LLAMA, messages: userMsg("hi") }))).toBe(LLAMA);
  });

  it("per-key overrides narrow that key only", async () => {
    const a = await newTeamKey();
    const b = await newTeamKey({ team: a.team });
    await setPolicy(a.team, { keys: { [a.id]: { models: { allow: ["groq/*"] } }, [b.id]: { providers: { deny: ["groq"] } } } });
    const ea = await expectError(await chat(a.key, { model: LUNA, messages: userMsg("hi") }), 403, "policy_denied");
    expect(ea.excluded[0].reason).toBe("not allowed by key policy (models.allow)");
    expect(await servedBy(await chat(a.key, { model: LLAMA, messages: userMsg("hi") }))).toBe(LLAMA);
    expect(await servedBy(await chat(b.key, { model: LUNA, messages: userMsg("hi") }))).toBe(LUNA);
    const eb = await expectError(await chat(b.key, { model: LLAMA, messages: userMsg("hi") }), 403, "policy_denied");
    expect(eb.excluded[0].reason).toBe('denied by key policy (providers.deny "groq")');
  });

  it("data policy: zero data retention and regions", async () => {
    const zdr = await teamWithPolicy({ data: { zdr: true } });
    const ez = await expectError(await chat(zdr.key, { model: LUNA, messages: userMsg("hi") }), 403, "policy_denied");
    expect(ez.excluded[0].reason).toBe("provider does not offer zero data retention (zdr)");
    expect(await servedBy(await chat(zdr.key, { models: [LUNA, "mock/echo"], messages: userMsg("hi") }))).toBe("mock/echo");
    const eu = await teamWithPolicy({ data: { regions: ["eu"] } });
    const er = await expectError(await chat(eu.key, { models: [LUNA, LLAMA], messages: userMsg("hi") }), 403, "policy_denied");
    expect(er.excluded.map((x: any) => x.reason)).toEqual([
      "provider processes data in us (allowed regions: eu)",
      "provider's data region is unspecified (allowed regions: eu)",
    ]);
  });

  it("aliases: ordered, with failover along the list; :floor sorts by price", async () => {
    const k = await teamWithPolicy({ aliases: { fast: [LUNA, LLAMA], pair: [MINI41, LLAMA] }, routing: { retries: 0 } });
    expect(await servedBy(await chat(k.key, { model: "fast", messages: userMsg("hi") }))).toBe(LUNA);
    const tag = uniqueTag("alias");
    expect(await servedBy(await chat(k.key, { model: "fast", messages: userMsg(`[[tag=${tag};status@gpt-6-luna=503]]`) }))).toBe(LLAMA);
    expect((await calls(tag)).map((c) => c.model)).toEqual(["gpt-6-luna", "llama-3.1-8b-instant"]);
    expect(await servedBy(await chat(k.key, { model: "pair", messages: userMsg("hi") }))).toBe(MINI41);
    expect(await servedBy(await chat(k.key, { model: "pair:floor", messages: userMsg("hi") }))).toBe(LLAMA);
    expect(await servedBy(await chat(k.key, { model: "pair", provider: { sort: "price" }, messages: userMsg("hi") }))).toBe(LLAMA);
  });

  it("provider.order and the policy's default order; allow_fallbacks: false keeps to the first", async () => {
    const k = await teamWithPolicy({ aliases: { pair: [MINI41, LLAMA] }, routing: { order: ["groq"] } });
    expect(await servedBy(await chat(k.key, { model: "pair", messages: userMsg("hi") }))).toBe(LLAMA);
    expect(await servedBy(await chat(k.key, { model: "pair", provider: { order: ["openai"] }, messages: userMsg("hi") }))).toBe(MINI41);
    const tag = uniqueTag("nofb");
    const r = await chat(k.key, { model: "pair", provider: { allow_fallbacks: false, retries: 0 }, messages: userMsg(`[[tag=${tag};status@llama-3.1-8b-instant=503]]`) });
    expect(r.status).toBe(502);
    await r.body?.cancel();
    expect((await calls(tag)).map((c) => c.model)).toEqual(["llama-3.1-8b-instant"]);
  });

  it("timeouts per request lower the policy's, never raise them; a bad one is a 400", async () => {
    const k = await teamWithPolicy({ routing: { timeouts_ms: { first_token: 300 } } });
    const tag = uniqueTag("rto");
    const r = await chat(k.key, {
      models: [LUNA, LLAMA],
      stream: true,
      provider: { timeouts_ms: { first_token: 5000 } },
      messages: userMsg(`[[tag=${tag};token_delay@gpt-6-luna=3000]]`),
    });
    // The primary's token would come at 3 s, inside the request's 5 s: served by the fallback, the policy's 300 ms held.
    expect(await servedBy(r)).toBe(LLAMA);
    const k2 = await teamWithPolicy({});
    const r2 = await chat(k2.key, {
      models: [LUNA, LLAMA],
      stream: true,
      provider: { timeouts_ms: { first_token: 200 } },
      messages: userMsg(`[[tag=${uniqueTag("rto2")};token_delay@gpt-6-luna=3000]]`),
    });
    expect(await servedBy(r2)).toBe(LLAMA);
    const bad = await chat(k2.key, { model: LUNA, provider: { timeouts_ms: { first_tokn: 1 } }, messages: userMsg("hi") });
    expect((await expectError(bad, 400, "bad_request")).message).toBe('provider.timeouts_ms: Unrecognized key: "first_tokn"');
  });
});
