import { describe, expect, it } from "vitest";
import { eventually, expectError, expectedCost, generationOf, newTeamKey, responses, sseEvents, uniqueTag, upstreamLog } from "./helpers";
import { setPolicy } from "./ledger-helpers";

/*
 * POST /v1/responses in workerd: the same path as chat (keys, policy, budgets, the usage event,
 * /v1/generation), a stateless gateway's refusals, and input the format cannot carry refused with a 400
 * naming the field before anything reaches a provider.
 */

const MINI = "openai/gpt-4o-mini";
/** An OpenAI-format provider without a Responses API of its own: translated to chat (OpenAI's is passed through: responses-native.test.ts). */
const CHAT = "deepseek/deepseek-flash";
const HAIKU = "anthropic/claude-haiku-4.5";

describe("POST /v1/responses", () => {
  it("records the usage event and bills it exactly; usage in the Response carries the same cost", async () => {
    const k = await newTeamKey();
    for (const model of [CHAT, HAIKU, "gemini/gemini-2.5-flash-lite"]) {
      const tag = uniqueTag("resp-usage");
      const r = await responses(k.key, { model, input: `[[tag=${tag};pt=120;cached=20;ct=30;reasoning=10]] hi`, user: "alice" });
      const text = await r.text();
      expect(r.status, text).toBe(200);
      const body = JSON.parse(text);
      const id = r.headers.get("x-request-id")!;
      expect(body.id).toBe(`resp_${id.replace(/^gen-/, "")}`);
      expect(body.usage).toMatchObject({ input_tokens: 120, input_tokens_details: { cached_tokens: 20 }, output_tokens: 30, output_tokens_details: { reasoning_tokens: 10 }, total_tokens: 150 });
      const g = await eventually(() => generationOf(k.key, id));
      const cost = expectedCost(model, { prompt: 120, cached: 20, completion: 30, reasoning: 10 });
      expect(g).toMatchObject({ model, status: "ok", streamed: false, prompt_tokens: 120, cached_tokens: 20, completion_tokens: 30, reasoning_tokens: 10, cost_exact: cost });
      expect(body.usage.cost).toBe(Number(cost));
    }
  });

  it("a stream's usage event: billed as reported, the completed event carrying the cost", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("resp-stream");
    const r = await responses(k.key, { model: HAIKU, stream: true, input: `[[tag=${tag};reply=a b c;pt=40;ct=3]]` });
    expect(r.headers.get("content-type")).toBe("text/event-stream");
    const events = sseEvents(await r.text()).map((e) => ({ event: /^event: (.*)$/m.exec(e)![1], data: JSON.parse(/^data: (.*)$/m.exec(e)![1]!) }));
    for (const e of events) expect(e.data.type).toBe(e.event);
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
    const completed = events.at(-1)!.data;
    expect(completed.type).toBe("response.completed");
    const g = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(g).toMatchObject({ status: "ok", streamed: true, prompt_tokens: 40, completion_tokens: 3, cost_exact: expectedCost(HAIKU, { prompt: 40, completion: 3 }) });
    expect(completed.response.usage.cost).toBe(g!.cost);
  });

  it("budgets refuse it as they refuse chat: 402, nothing sent upstream", async () => {
    const k = await newTeamKey();
    await setPolicy(k.team, { budgets: [{ scope: "team", period: "day", limit_usd: "0.000001" }] });
    const tag = uniqueTag("resp-budget");
    const r = await responses(k.key, { model: MINI, max_output_tokens: 1000, input: `[[tag=${tag}]] hi` });
    const text = await r.text();
    expect(r.status, text).toBe(402);
    expect(JSON.parse(text).error.code).toBe("insufficient_budget");
    expect(await upstreamLog(tag)).toEqual([]);
  });

  it("policy applies: a model the team does not allow is refused", async () => {
    const k = await newTeamKey();
    await setPolicy(k.team, { models: { allow: ["anthropic/*"] } });
    const tag = uniqueTag("resp-policy");
    const r = await responses(k.key, { model: MINI, input: `[[tag=${tag}]] hi` });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    await r.text();
    expect(await upstreamLog(tag)).toEqual([]);
  });

  it("refuses stored state with a 400 that says the gateway is stateless", async () => {
    const k = await newTeamKey();
    const cases: [Record<string, unknown>, string][] = [
      [{ previous_response_id: "resp_abc" }, "previous_response_id"],
      [{ store: true }, "store"],
      [{ conversation: "conv_1" }, "conversation"],
      [{ background: true }, "background"],
      [{ input: [{ type: "item_reference", id: "msg_1" }] }, "input[0]"],
    ];
    for (const [extra, field] of cases) {
      const tag = uniqueTag("resp-stateless");
      const err = await expectError(await responses(k.key, { model: MINI, input: `[[tag=${tag}]] hi`, ...extra }), 400, "bad_request");
      expect(err.message, field).toContain(field);
      expect(err.message, field).toMatch(/stateless/);
      expect(await upstreamLog(tag)).toEqual([]);
    }
    // store: false is what a stateless gateway does anyway.
    const ok = await responses(k.key, { model: MINI, input: "hi", store: false });
    expect(ok.status, await ok.text()).toBe(200);
  });

  it("refuses hosted tools as premium features and what it cannot carry as bad requests", async () => {
    const k = await newTeamKey();
    const premium = [{ type: "web_search" }, { type: "web_search_preview" }, { type: "file_search", vector_store_ids: ["vs_1"] }, { type: "code_interpreter", container: { type: "auto" } }, { type: "mcp", server_label: "x", server_url: "https://mcp.example" }];
    for (const tool of premium) {
      const tag = uniqueTag("resp-hosted");
      const err = await expectError(await responses(k.key, { model: MINI, tools: [tool], input: `[[tag=${tag}]] hi` }), 400, "premium_feature");
      expect(err.message).toContain(`tools[0] (${tool.type})`);
      expect(await upstreamLog(tag)).toEqual([]);
    }
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ tools: [{ type: "custom", name: "x" }] }, /tools\[0\]/],
      [{ tool_choice: { type: "allowed_tools", mode: "auto", tools: [] } }, /tool_choice/],
      [{ text: { format: { type: "grammar" } } }, /text\.format/],
      [{ input: [{ role: "user", content: [{ type: "input_file", file_id: "file_1" }] }] }, /input\[0\]\.content\[0\]/],
      [{ input: [{ role: "user", content: [{ type: "input_image", file_id: "file_1" }] }] }, /input\[0\]\.content\[0\]/],
      [{ input: [{ role: "tool", content: "x" }] }, /input\[0\]\.role/],
      [{ input: [{ type: "function_call_output", output: "x" }] }, /call_id/],
      [{ input: [] }, /input/],
      [{ input: 42 }, /input/],
      [{ model: undefined }, /model/],
    ];
    for (const [patch, field] of bad) {
      const err = await expectError(await responses(k.key, { model: MINI, input: "hi", ...patch }), 400, "bad_request");
      expect(err.message).toMatch(field);
    }
  });

  it("sends instructions, function tools, tool_choice, reasoning effort and text.format as chat fields", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("resp-fields");
    const schema = { type: "object", properties: { a: { type: "string" } }, required: ["a"], additionalProperties: false };
    const r = await responses(k.key, {
      model: CHAT,
      instructions: "Be brief.",
      input: [{ role: "user", content: [{ type: "input_text", text: `[[tag=${tag}]] hi` }, { type: "input_image", image_url: "https://example.com/a.png", detail: "low" }] }],
      tools: [{ type: "function", name: "f", description: "d", parameters: schema, strict: true }],
      tool_choice: "required",
      temperature: 0.5,
      top_p: 0.9,
      reasoning: { effort: "low" },
      text: { format: { type: "json_schema", name: "out", schema, strict: true } },
      metadata: { a: "b" },
      user: "u1",
    });
    expect(r.status, await r.text()).toBe(200);
    const [sent] = await upstreamLog(tag);
    expect(sent!.body).toMatchObject({
      model: "deepseek-flash",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: [{ type: "text", text: `[[tag=${tag}]] hi` }, { type: "image_url", image_url: { url: "https://example.com/a.png", detail: "low" } }] },
      ],
      tools: [{ type: "function", function: { name: "f", description: "d", parameters: schema, strict: true } }],
      tool_choice: "required",
      temperature: 0.5,
      top_p: 0.9,
      reasoning_effort: "low",
      response_format: { type: "json_schema", json_schema: { name: "out", schema, strict: true } },
      user: "u1",
    });
    expect(sent!.body.metadata).toBeUndefined();
    expect(sent!.body.input).toBeUndefined();
  });
});
