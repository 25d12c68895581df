import { describe, expect, it } from "vitest";
import { PolicyDocument } from "../../src/policy/schema";
import { picodollars, dollars } from "../support/money";
import { chat, eventually, expectError, generationOf, gw, newTeamKey, upstreamLog } from "./helpers";
import { messages, priceCost, tag } from "./format-helpers";
import { setPolicy } from "./ledger-helpers";
import { builtinCatalog } from "../../src/catalog";

/**
 * Features a provider bills beyond tokens (priority tiers, web search, server tools, MCP, 1M context) are
 * never served at token prices: refused by default, nothing sent upstream; `features.allow` lets through the
 * ones the gateway can price (Anthropic web search, per search the usage reports).
 */
const MINI = "openai/gpt-4o-mini";
const HAIKU = "anthropic/claude-haiku-4.5";
const user = (t: string, d = "") => [{ role: "user", content: `look it up [[tag=${t}${d}]]` }];
const WEB_SEARCH = { type: "web_search_20250305", name: "web_search", max_uses: 3 };

async function refused(r: Response, field: RegExp, t: string): Promise<string> {
  const text = await r.text();
  expect(r.status, text).toBe(400);
  const body = JSON.parse(text);
  const message: string = body.error.message;
  expect(message).toMatch(field);
  expect(await upstreamLog(t)).toEqual([]);
  return message;
}

describe("premium features", () => {
  it("are refused by default with a 400 naming the field and the policy switch; nothing reaches the provider", async () => {
    const k = await newTeamKey();
    const cases: [string, () => Promise<Response>, RegExp][] = [];
    const add = (name: string, send: (t: string) => Promise<Response>, field: RegExp) => {
      const t = tag(name);
      cases.push([t, () => send(t), field]);
    };
    add("tier", (t) => chat(k.key, { model: MINI, service_tier: "priority", messages: user(t) }), /service_tier/);
    add("flex", (t) => chat(k.key, { model: MINI, service_tier: "flex", messages: user(t) }), /service_tier/);
    add("wso", (t) => chat(k.key, { model: MINI, web_search_options: {}, messages: user(t) }), /web_search_options/);
    add("plugin", (t) => chat(k.key, { model: MINI, plugins: [{ id: "web", max_results: 3 }], messages: user(t) }), /plugins/);
    add("ws", (t) => messages(k.key, { model: HAIKU, max_tokens: 50, tools: [WEB_SEARCH], messages: user(t) }), /tools\[0\].*web_search_20250305/);
    add("ws-openai", (t) => chat(k.key, { model: HAIKU, tools: [WEB_SEARCH], messages: user(t) }), /tools\[0\].*web_search_20250305/);
    add("fetch", (t) => messages(k.key, { model: HAIKU, max_tokens: 50, tools: [{ type: "web_fetch_20250910", name: "web_fetch" }], messages: user(t) }), /web_fetch/);
    add("code", (t) => messages(k.key, { model: HAIKU, max_tokens: 50, tools: [{ type: "code_execution_20250825", name: "code_execution" }], messages: user(t) }), /code_execution/);
    add("mcp", (t) => messages(k.key, { model: HAIKU, max_tokens: 50, mcp_servers: [{ type: "url", url: "https://mcp.example/sse", name: "x" }], messages: user(t) }), /mcp_servers/);
    add("1m", (t) => messages(k.key, { model: HAIKU, max_tokens: 50, messages: user(t) }, { "anthropic-beta": "prompt-caching-2024-07-31, context-1m-2025-08-07" }), /anthropic-beta.*context-1m/);
    for (const [t, send, field] of cases) {
      const message = await refused(await send(), field, t);
      expect(message, t).toMatch(/features\.allow/);
    }
    // The ordinary tiers are not premium.
    for (const service_tier of ["auto", "default"]) {
      const r = await chat(k.key, { model: MINI, service_tier, messages: user(tag("std")) });
      expect(r.status).toBe(200);
      await r.text();
    }
    const err = await expectError(await chat(k.key, { model: MINI, service_tier: "priority", messages: user(tag("shape")) }), 400, "premium_feature");
    expect(err.message).toContain("service_tier");
  });

  it("Anthropic web search, allowed by policy, is billed per search the usage reports, streamed or not", async () => {
    const k = await newTeamKey();
    await setPolicy(k.team, { features: { allow: ["web_search"] } });
    const pricing = builtinCatalog.model(HAIKU)!.pricing;
    expect(pricing.web_search).toBe("0.01");
    const listed = ((await (await gw("/v1/models")).json()) as { data: any[] }).data.find((m) => m.id === HAIKU);
    expect(listed.pricing.web_search).toBe("0.01");
    for (const stream of [false, true]) {
      const t = tag("ws-ok");
      const r = await messages(k.key, { model: HAIKU, max_tokens: 50, stream, tools: [WEB_SEARCH], messages: user(t, ";pt=100;ct=20;searches=2") });
      expect(r.status).toBe(200);
      await r.text();
      expect((await upstreamLog(t))[0]!.body.tools).toEqual([WEB_SEARCH]);
      const g = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
      expect(g.cost_exact, `stream ${stream}`).toBe(dollars(priceCost(pricing, { prompt: 100, completion: 20 }) + 2n * picodollars("0.01")));
    }
    // The budget hold counts every search the tools may run: $0.03 of searches do not fit a $0.02 budget.
    const poor = await newTeamKey();
    await setPolicy(poor.team, { features: { allow: ["web_search"] }, budgets: [{ scope: "team", period: "day", limit_usd: "0.02" }] });
    const tp = tag("ws-poor");
    const held = await messages(poor.key, { model: HAIKU, max_tokens: 10, tools: [WEB_SEARCH], messages: user(tp) });
    expect(held.status).toBe(402);
    await held.text();
    expect(await upstreamLog(tp)).toEqual([]);
    // A search count the hold cannot bound is refused.
    const t = tag("ws-unbounded");
    await refused(await messages(k.key, { model: HAIKU, max_tokens: 50, tools: [{ type: "web_search_20250305", name: "web_search" }], messages: user(t) }), /max_uses/, t);
  });

  it("features the gateway cannot price stay refused when web search is allowed, and policy validation refuses allowing them", async () => {
    const k = await newTeamKey();
    await setPolicy(k.team, { features: { allow: ["web_search"] } });
    const t = tag("tier-allowed");
    const message = await refused(await chat(k.key, { model: MINI, service_tier: "priority", messages: user(t) }), /service_tier/, t);
    expect(message).toMatch(/cannot price/);
    const t2 = tag("wso-allowed");
    await refused(await chat(k.key, { model: MINI, web_search_options: {}, messages: user(t2) }), /cannot price/, t2);
    const r = PolicyDocument.safeParse({ team: "x", features: { allow: ["service_tier"] } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(["features", "allow", 0]);
  });
});
