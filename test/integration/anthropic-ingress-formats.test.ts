import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { eventually, generationOf, newTeamKey, upstreamLog } from "./helpers";
import { anthropicEvents, catalogCost, dollars, messages, tag, type Tokens } from "./format-helpers";

const CLAUDE = "anthropic/claude-haiku-4.5";
const GPT = "openai/gpt-4o-mini";
const GEMINI = "gemini/gemini-2.5-flash-lite";

async function billed(key: string, id: string, model: string, t: Tokens, status = "ok") {
  const g = await eventually(async () => {
    const x = await generationOf(key, id);
    return x?.status === status ? x : null;
  });
  expect(g).toMatchObject({
    model,
    prompt_tokens: t.prompt,
    completion_tokens: t.completion,
    cached_tokens: t.cached ?? 0,
    cache_write_tokens: t.cacheWrite ?? 0,
    reasoning_tokens: t.reasoning ?? 0,
  });
  expect(g.cost_exact).toBe(dollars(catalogCost(model, t)));
  return g;
}

/** The Anthropic SDK's event grammar: message_start, blocks (start, deltas, stop), message_delta, message_stop. */
function expectWellFormed(events: { event: string; data: any }[]) {
  expect(events[0]!.event).toBe("message_start");
  expect(events.at(-1)!.event).toBe("message_stop");
  expect(events.at(-2)!.event).toBe("message_delta");
  let open: number | null = null;
  for (const e of events) {
    expect(e.data.type).toBe(e.event);
    if (e.event === "content_block_start") {
      expect(open).toBeNull();
      open = e.data.index;
    } else if (e.event === "content_block_delta") expect(e.data.index).toBe(open);
    else if (e.event === "content_block_stop") {
      expect(e.data.index).toBe(open);
      open = null;
    }
  }
  expect(open).toBeNull();
}

describe("Anthropic format in, Anthropic upstream", () => {
  it("passes the body through (model renamed) and adds usage.cost to the answer", async () => {
    const k = await newTeamKey();
    const t = tag("an-an");
    const body = {
      model: CLAUDE,
      max_tokens: 100,
      system: [{ type: "text", text: "Be terse.", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: `hi [[tag=${t};pt=500;cached=300;cw=150;ct=12]]` }],
      metadata: { user_id: "u-7" },
    };
    const r = await messages(k.key, body);
    expect(r.status).toBe(200);
    const json = (await r.json()) as any;
    expect(json).toMatchObject({ type: "message", role: "assistant", model: CLAUDE, content: [{ type: "text", text: "Hello from upstream" }], stop_reason: "end_turn" });
    expect(json.usage).toMatchObject({ input_tokens: 50, output_tokens: 12, cache_read_input_tokens: 300, cache_creation_input_tokens: 150 });
    const [sent] = await upstreamLog(t);
    expect(sent!.auth).toBe("sk-ant-test-upstream");
    expect(sent!.body).toEqual({ ...body, model: "claude-haiku-4-5-20251001" });
    const g = await billed(k.key, r.headers.get("x-request-id")!, CLAUDE, { prompt: 500, completion: 12, cached: 300, cacheWrite: 150 });
    expect(json.usage.cost).toBe(g.cost);
    expect(g.user).toBe("u-7");
  });

  it("passes the client's anthropic-beta header to Anthropic-format providers, and to no other", async () => {
    const k = await newTeamKey();
    const beta = "prompt-caching-2024-07-31,output-128k-2025-02-19";
    const t = tag("an-beta");
    const r = await messages(k.key, { model: CLAUDE, max_tokens: 50, messages: [{ role: "user", content: `hi [[tag=${t}]]` }] }, { "anthropic-beta": beta });
    expect(r.status).toBe(200);
    expect((await upstreamLog(t))[0]!.beta).toBe(beta);
    const t2 = tag("an-beta-gpt");
    const r2 = await messages(k.key, { model: GPT, max_tokens: 50, messages: [{ role: "user", content: `hi [[tag=${t2}]]` }] }, { "anthropic-beta": beta });
    expect(r2.status).toBe(200);
    expect((await upstreamLog(t2))[0]!.beta).toBeNull();
    const t3 = tag("an-nobeta");
    expect((await messages(k.key, { model: CLAUDE, max_tokens: 50, messages: [{ role: "user", content: `hi [[tag=${t3}]]` }] })).status).toBe(200);
    expect((await upstreamLog(t3))[0]!.beta).toBeNull();
  });

  it("count_tokens: an Anthropic-format provider counts; other models are estimated, and say so", async () => {
    const k = await newTeamKey();
    const count = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
      SELF.fetch("http://gateway/v1/messages/count_tokens", {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": k.key, "anthropic-version": "2023-06-01", ...headers },
        body: JSON.stringify(body),
      });
    const t = tag("an-count");
    const body = { model: CLAUDE, system: "Be terse.", messages: [{ role: "user", content: `hi [[tag=${t};pt=321]]` }], tools: [{ name: "f", input_schema: { type: "object" } }] };
    const r = await count({ ...body, provider: { order: ["anthropic"] } }, { "anthropic-beta": "token-counting-2024-11-01" });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ input_tokens: 321 });
    expect(r.headers.get("x-switchyard-model")).toBe(CLAUDE);
    expect(r.headers.get("x-switchyard-estimated")).toBeNull();
    const [sent] = await upstreamLog(t);
    expect(sent).toMatchObject({ path: "/v1/messages/count_tokens", auth: "sk-ant-test-upstream", beta: "token-counting-2024-11-01" });
    expect(sent!.body).toEqual({ ...body, model: "claude-haiku-4-5-20251001" });

    const e = await count({ model: GPT, messages: [{ role: "user", content: "x".repeat(400) }] });
    expect(e.status).toBe(200);
    expect(e.headers.get("x-switchyard-estimated")).toBe("true");
    expect(((await e.json()) as { input_tokens: number }).input_tokens).toBeGreaterThanOrEqual(100);

    const missing = await count({ model: "anthropic/claude-nope", messages: [{ role: "user", content: "x" }] });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.type).toBe("not_found_error");
    const t2 = tag("an-count-err");
    const bad = await count({ model: CLAUDE, messages: [{ role: "user", content: `[[tag=${t2};status=400;error_message=messages: too many]]` }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error).toMatchObject({ type: "invalid_request_error", message: "anthropic: messages: too many" });
    // Counting is not a request for an answer: nothing is billed or recorded.
    const usage = await SELF.fetch("http://gateway/v1/usage", { headers: { authorization: `Bearer ${k.key}` } });
    expect(((await usage.json()) as any).totals.requests).toBe(0);
  });

  it("streams the provider's events unchanged but for usage.cost in message_delta", async () => {
    const k = await newTeamKey();
    const t = tag("an-an-s");
    const r = await messages(k.key, { model: CLAUDE, max_tokens: 100, stream: true, messages: [{ role: "user", content: `hi [[tag=${t};pt=60;cached=40;ct=6;thinking=hm ok;tool=f]]` }] });
    expect(r.status).toBe(200);
    const events = anthropicEvents(await r.text());
    expectWellFormed(events);
    const delta = events.at(-2)!.data;
    expect(delta.usage.output_tokens).toBe(6);
    const g = await billed(k.key, r.headers.get("x-request-id")!, CLAUDE, { prompt: 60, completion: 6, cached: 40 });
    expect(delta.usage.cost).toBe(g.cost);
    expect(events.find((e) => e.data.delta?.type === "signature_delta")).toBeDefined();
    expect(events.filter((e) => e.data.delta?.type === "input_json_delta").length).toBeGreaterThan(1);
  });

  it("a cut stream ends with an error event and is billed from message_start plus an estimate", async () => {
    const k = await newTeamKey();
    const t = tag("an-an-cut");
    const r = await messages(k.key, { model: CLAUDE, max_tokens: 100, stream: true, messages: [{ role: "user", content: `hi [[tag=${t};reply=a b c d e f g;cut_after=5;pt=70]]` }] });
    const events = anthropicEvents(await r.text());
    expect(events.at(-1)!.event).toBe("error");
    expect(events.at(-1)!.data.error.type).toBe("api_error");
    const g = await eventually(async () => {
      const x = await generationOf(k.key, r.headers.get("x-request-id")!);
      return x?.status === "cut" ? x : null;
    });
    expect(g).toMatchObject({ estimated: true, prompt_tokens: 70 });
    expect(g.cost_exact).toBe(dollars(catalogCost(CLAUDE, { prompt: 70, completion: g.completion_tokens })));
  });
});

describe("Anthropic format in, OpenAI upstream", () => {
  it("translates system, turns, tool use and results, images, stop sequences, thinking and JSON output", async () => {
    const k = await newTeamKey();
    const t = tag("an-oa");
    const schema = { type: "object", properties: { a: { type: "string" } } };
    const r = await messages(k.key, {
      model: GPT,
      max_tokens: 200,
      system: "Be terse.",
      temperature: 0.2,
      stop_sequences: ["END"],
      messages: [
        { role: "user", content: [{ type: "text", text: "look" }, { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } }] },
        { role: "assistant", content: [{ type: "text", text: "calling" }, { type: "tool_use", id: "toolu_5", name: "look", input: { q: 1 } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_5", content: [{ type: "text", text: "a cat" }] }, { type: "text", text: `so? [[tag=${t};pt=90;cached=64;ct=11]]` }] },
      ],
      tools: [{ name: "look", description: "Looks", input_schema: { type: "object" } }],
      tool_choice: { type: "any", disable_parallel_tool_use: true },
      output_config: { format: { type: "json_schema", schema } },
      metadata: { user_id: "u-2" },
    });
    expect(r.status).toBe(200);
    const json = (await r.json()) as any;
    expect(json).toMatchObject({ type: "message", role: "assistant", model: GPT, content: [{ type: "text", text: "Hello from upstream" }], stop_reason: "end_turn", stop_sequence: null });
    expect(json.usage).toMatchObject({ input_tokens: 26, output_tokens: 11, cache_read_input_tokens: 64, cache_creation_input_tokens: 0 });
    const [sent] = await upstreamLog(t);
    expect(sent!.path).toBe("/v1/chat/completions");
    expect(sent!.body).toMatchObject({
      model: "gpt-4o-mini",
      max_completion_tokens: 200,
      temperature: 0.2,
      stop: ["END"],
      user: "u-2",
      tools: [{ type: "function", function: { name: "look", description: "Looks", parameters: { type: "object" } } }],
      tool_choice: "required",
      parallel_tool_calls: false,
      response_format: { type: "json_schema", json_schema: { name: "output", schema, strict: true } },
    });
    expect(sent!.body.messages).toEqual([
      { role: "system", content: "Be terse." },
      { role: "user", content: [{ type: "text", text: "look" }, { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }] },
      { role: "assistant", content: "calling", tool_calls: [{ id: "toolu_5", type: "function", function: { name: "look", arguments: '{"q":1}' } }] },
      { role: "tool", tool_call_id: "toolu_5", content: "a cat" },
      { role: "user", content: expect.stringContaining("so?") },
    ]);
    const g = await billed(k.key, r.headers.get("x-request-id")!, GPT, { prompt: 90, completion: 11, cached: 64 });
    expect(json.usage.cost).toBe(g.cost);
  });

  it("streams as Anthropic events: text and tool_use blocks, stop reason, final usage with cost", async () => {
    const k = await newTeamKey();
    const t = tag("an-oa-s");
    const r = await messages(k.key, {
      model: GPT,
      max_tokens: 100,
      stream: true,
      messages: [{ role: "user", content: `w? [[tag=${t};reply=checking now;tool=get_weather;args={"city":"Rome"};pt=33;ct=9]]` }],
      tools: [{ name: "get_weather", input_schema: { type: "object" } }],
    });
    expect(r.headers.get("content-type")).toBe("text/event-stream");
    const events = anthropicEvents(await r.text());
    expectWellFormed(events);
    const text = events.filter((e) => e.data.delta?.type === "text_delta").map((e) => e.data.delta.text).join("");
    expect(text).toBe("checking now");
    const toolStart = events.find((e) => e.data.content_block?.type === "tool_use")!;
    expect(toolStart.data.content_block).toMatchObject({ id: "call_1", name: "get_weather", input: {} });
    const args = events.filter((e) => e.data.delta?.type === "input_json_delta").map((e) => e.data.delta.partial_json).join("");
    expect(JSON.parse(args)).toEqual({ city: "Rome" });
    const delta = events.at(-2)!.data;
    expect(delta.delta.stop_reason).toBe("tool_use");
    expect(delta.usage).toMatchObject({ input_tokens: 33, output_tokens: 9 });
    const g = await billed(k.key, r.headers.get("x-request-id")!, GPT, { prompt: 33, completion: 9 });
    expect(delta.usage.cost).toBe(g.cost);
    expect((await upstreamLog(t))[0]!.body.stream_options).toEqual({ include_usage: true });
  });

  it("shows OpenAI-format reasoning as thinking when the client asked for thinking", async () => {
    const k = await newTeamKey();
    const t = tag("an-oa-think");
    const r = await messages(k.key, {
      model: "openai/gpt-6-luna",
      max_tokens: 3000,
      stream: true,
      thinking: { type: "enabled", budget_tokens: 2048 },
      messages: [{ role: "user", content: `x [[tag=${t};thinking=step one;ct=15;reasoning=10]]` }],
    });
    const events = anthropicEvents(await r.text());
    expectWellFormed(events);
    expect(events.find((e) => e.event === "content_block_start")!.data.content_block.type).toBe("thinking");
    expect(events.filter((e) => e.data.delta?.type === "thinking_delta").map((e) => e.data.delta.thinking).join("")).toBe("step one");
    expect((await upstreamLog(t))[0]!.body.reasoning_effort).toBe("low");
    await billed(k.key, r.headers.get("x-request-id")!, "openai/gpt-6-luna", { prompt: 11, completion: 15, reasoning: 10 });
  });
});

describe("Anthropic format in, Gemini upstream", () => {
  it("streams as Anthropic events with Gemini's usage", async () => {
    const k = await newTeamKey();
    const t = tag("an-gem-s");
    const r = await messages(k.key, { model: GEMINI, max_tokens: 100, stream: true, system: "Be terse.", messages: [{ role: "user", content: `hi [[tag=${t};reply=hello there;pt=44;cached=20;ct=6]]` }] });
    const events = anthropicEvents(await r.text());
    expectWellFormed(events);
    expect(events.filter((e) => e.data.delta?.type === "text_delta").map((e) => e.data.delta.text).join("")).toBe("hello there");
    expect(events.at(-2)!.data.usage).toMatchObject({ input_tokens: 24, cache_read_input_tokens: 20, output_tokens: 6 });
    const [sent] = await upstreamLog(t);
    expect(sent!.body).toMatchObject({ systemInstruction: { parts: [{ text: "Be terse." }] }, generationConfig: { maxOutputTokens: 100 } });
    await billed(k.key, r.headers.get("x-request-id")!, GEMINI, { prompt: 44, completion: 6, cached: 20 });
  });

  it("answers a tool call as a tool_use block", async () => {
    const k = await newTeamKey();
    const t = tag("an-gem");
    const r = await messages(k.key, { model: GEMINI, max_tokens: 100, messages: [{ role: "user", content: `hi [[tag=${t};tool=lookup;args={"q":"x"}]]` }], tools: [{ name: "lookup", input_schema: { type: "object" } }] });
    const json = (await r.json()) as any;
    expect(json.stop_reason).toBe("tool_use");
    expect(json.content.at(-1)).toMatchObject({ type: "tool_use", name: "lookup", input: { q: "x" } });
  });
});

describe("Anthropic model names", () => {
  it("Anthropic's own model name reaches the catalog entry it is the upstream name of", async () => {
    const k = await newTeamKey();
    const t = tag("an-name");
    const r = await messages(k.key, { model: "claude-haiku-4-5-20251001", max_tokens: 10, messages: [{ role: "user", content: `x [[tag=${t}]]` }] });
    expect(r.status).toBe(200);
    expect(((await r.json()) as any).model).toBe(CLAUDE);
    expect((await upstreamLog(t))[0]!.body.model).toBe("claude-haiku-4-5-20251001");
  });
});

describe("Anthropic format in, offline mock", () => {
  it("mock/echo answers /v1/messages with a Bearer key too, streamed and not", async () => {
    const k = await newTeamKey();
    const r = await SELF.fetch("http://gateway/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${k.key}` },
      body: JSON.stringify({ model: "mock/echo", max_tokens: 50, messages: [{ role: "user", content: "echo me" }] }),
    });
    expect(r.status).toBe(200);
    expect(((await r.json()) as any).content).toEqual([{ type: "text", text: "echo me" }]);
    const s = await messages(k.key, { model: "mock/echo", max_tokens: 50, stream: true, messages: [{ role: "user", content: "one two" }] });
    const events = anthropicEvents(await s.text());
    expectWellFormed(events);
    expect(events.filter((e) => e.data.delta?.type === "text_delta").map((e) => e.data.delta.text).join("")).toBe("one two");
  });

  it("a translated stream cut mid-answer ends with an Anthropic error event and is billed as cut", async () => {
    const k = await newTeamKey();
    const t = tag("an-oa-cut");
    const r = await messages(k.key, { model: GPT, max_tokens: 50, stream: true, messages: [{ role: "user", content: `x [[tag=${t};reply=a b c d e f;cut_after=3]]` }] });
    const events = anthropicEvents(await r.text());
    expect(events[0]!.event).toBe("message_start");
    expect(events.at(-1)).toMatchObject({ event: "error", data: { type: "error", error: { type: "api_error" } } });
    expect(events.some((e) => e.event === "message_stop")).toBe(false);
    const g = await eventually(async () => {
      const x = await generationOf(k.key, r.headers.get("x-request-id")!);
      return x?.status === "cut" ? x : null;
    });
    expect(g.estimated).toBe(true);
  });
});

describe("Anthropic-format errors", () => {
  it("401, 404 and provider errors in Anthropic's shape with the right status", async () => {
    const none = await messages("sk-sy-not-a-key", { model: CLAUDE, max_tokens: 5, messages: [{ role: "user", content: "x" }] });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ type: "error", error: { type: "authentication_error" }, request_id: none.headers.get("x-request-id") });

    const k = await newTeamKey();
    const unknown = await messages(k.key, { model: "anthropic/claude-sonet-5", max_tokens: 5, messages: [{ role: "user", content: "x" }] });
    expect(unknown.status).toBe(404);
    const u = (await unknown.json()) as any;
    expect(u.error.type).toBe("not_found_error");
    expect(u.error.message).toContain("anthropic/claude-sonnet-5");

    const bad = await messages(k.key, { model: CLAUDE, messages: [] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.type).toBe("invalid_request_error");

    const limited = await messages(k.key, { model: GPT, max_tokens: 5, messages: [{ role: "user", content: `x [[tag=${tag("an-429")};status=429;retry_after=2]]` }] });
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as any).error.type).toBe("rate_limit_error");
  });
});
