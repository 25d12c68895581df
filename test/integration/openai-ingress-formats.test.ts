import { describe, expect, it } from "vitest";
import { chat, eventually, generationOf, newTeamKey, upstreamLog } from "./helpers";
import { catalogCost, dollars, openAIEvents, tag, type Tokens } from "./format-helpers";

const CLAUDE = "anthropic/claude-haiku-4.5";
const GEMINI = "gemini/gemini-2.5-flash-lite";
const PNG = "data:image/png;base64,iVBORw0KGgo=";

async function billed(key: string, id: string, model: string, t: Tokens, estimated = false) {
  const g = await eventually(() => generationOf(key, id));
  expect(g).toMatchObject({
    model,
    prompt_tokens: t.prompt,
    completion_tokens: t.completion,
    cached_tokens: t.cached ?? 0,
    cache_write_tokens: t.cacheWrite ?? 0,
    reasoning_tokens: t.reasoning ?? 0,
    estimated,
  });
  expect(g.cost_exact).toBe(dollars(catalogCost(model, t)));
  return g;
}

describe("OpenAI format in, Anthropic upstream", () => {
  it("translates system, turns, images, tools, stop, sampling and user; answers in OpenAI's shape with cost", async () => {
    const k = await newTeamKey();
    const t = tag("oa-anth");
    const r = await chat(k.key, {
      model: CLAUDE,
      messages: [
        { role: "system", content: "Be terse." },
        { role: "user", content: "What is in these?" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_9", type: "function", function: { name: "look", arguments: '{"x":1}' } }] },
        { role: "tool", tool_call_id: "call_9", content: "a cat" },
        {
          role: "user",
          content: [
            { type: "text", text: `and these [[tag=${t};pt=120;cached=100;cw=10;ct=9]]` },
            { type: "image_url", image_url: { url: "https://example.com/cat.png" } },
            { type: "image_url", image_url: { url: PNG } },
          ],
        },
      ],
      tools: [{ type: "function", function: { name: "look", description: "Looks", parameters: { type: "object", properties: { x: { type: "number" } } } } }],
      tool_choice: "required",
      stop: "END",
      temperature: 1.5,
      top_p: 0.9,
      max_tokens: 300,
      user: "u-1",
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as any;
    expect(body.object).toBe("chat.completion");
    expect(body.system_fingerprint).toBeNull(); // present, as OpenRouter's SDK requires
    expect(body.model).toBe(CLAUDE);
    expect(body.choices[0]).toMatchObject({ message: { role: "assistant", content: "Hello from upstream" }, finish_reason: "stop" });
    expect(body.usage).toMatchObject({ prompt_tokens: 120, completion_tokens: 9, prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 10 } });

    const [sent] = await upstreamLog(t);
    expect(sent!.path).toBe("/v1/messages");
    expect(sent!.auth).toBe("sk-ant-test-upstream");
    expect(sent!.body).toMatchObject({
      model: "claude-haiku-4-5-20251001",
      system: "Be terse.",
      max_tokens: 300,
      temperature: 1,
      top_p: 0.9,
      stop_sequences: ["END"],
      metadata: { user_id: "u-1" },
      tool_choice: { type: "any" },
      tools: [{ name: "look", description: "Looks", input_schema: { type: "object", properties: { x: { type: "number" } } } }],
    });
    expect(sent!.body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "What is in these?" }] },
      { role: "assistant", content: [{ type: "tool_use", id: "call_9", name: "look", input: { x: 1 } }] },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "call_9", content: "a cat" },
          { type: "text", text: expect.stringContaining("and these") },
          { type: "image", source: { type: "url", url: "https://example.com/cat.png" } },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
        ],
      },
    ]);
    const g = await billed(k.key, r.headers.get("x-request-id")!, CLAUDE, { prompt: 120, completion: 9, cached: 100, cacheWrite: 10 });
    expect(body.usage.cost).toBe(g.cost);
  });

  it("streams text as OpenAI chunks ending with a usage chunk carrying cost, then [DONE]", async () => {
    const k = await newTeamKey();
    const t = tag("oa-anth-s");
    const r = await chat(k.key, { model: CLAUDE, stream: true, messages: [{ role: "user", content: `hi [[tag=${t};reply=one two three;pt=40;cached=30;ct=5]]` }] });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/event-stream");
    const events = openAIEvents(await r.text());
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1);
    expect(chunks[0].choices[0].delta.role).toBe("assistant");
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("")).toBe("one two three");
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe("stop");
    const usage = chunks.at(-1).usage;
    expect(usage).toMatchObject({ prompt_tokens: 40, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 30 } });
    const g = await billed(k.key, r.headers.get("x-request-id")!, CLAUDE, { prompt: 40, completion: 5, cached: 30 });
    expect(usage.cost).toBe(g.cost);
    expect((await upstreamLog(t))[0]!.body.stream).toBe(true);
  });

  it("streams a tool call: name first, then JSON arguments in pieces; finish_reason tool_calls", async () => {
    const k = await newTeamKey();
    const t = tag("oa-anth-tool");
    const r = await chat(k.key, {
      model: CLAUDE,
      stream: true,
      messages: [{ role: "user", content: `weather? [[tag=${t};tool=get_weather;args={"city":"Oslo","unit":"c"}]]` }],
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }],
    });
    const chunks = openAIEvents(await r.text()).slice(0, -1);
    const calls = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    expect(calls[0]).toMatchObject({ index: 0, id: "toolu_1", type: "function", function: { name: "get_weather" } });
    expect(calls.length).toBeGreaterThan(2);
    expect(JSON.parse(calls.map((c: any) => c.function.arguments ?? "").join(""))).toEqual({ city: "Oslo", unit: "c" });
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe("tool_calls");
  });

  it("maps reasoning to extended thinking and thinking back to reasoning with its signature", async () => {
    const k = await newTeamKey();
    const t = tag("oa-anth-think");
    const r = await chat(k.key, {
      model: CLAUDE,
      max_tokens: 4000,
      reasoning: { effort: "medium" },
      temperature: 0.5,
      messages: [{ role: "user", content: `think [[tag=${t};thinking=let me see;ct=20;reasoning=12]]` }],
    });
    const body = (await r.json()) as any;
    expect(body.choices[0].message.reasoning).toBe("let me see");
    expect(body.choices[0].message.reasoning_details[0]).toMatchObject({ type: "reasoning.text", signature: "sig-upstream" });
    expect(body.usage.completion_tokens_details.reasoning_tokens).toBe(12);
    const sent = (await upstreamLog(t))[0]!.body;
    expect(sent.thinking).toEqual({ type: "enabled", budget_tokens: 2000 });
    expect(sent.temperature).toBeUndefined();
    await billed(k.key, r.headers.get("x-request-id")!, CLAUDE, { prompt: 11, completion: 20, reasoning: 12 });
  });

  it("sends JSON schema output as output_config.format", async () => {
    const k = await newTeamKey();
    const t = tag("oa-anth-json");
    const schema = { type: "object", properties: { a: { type: "string" } }, required: ["a"], additionalProperties: false };
    await chat(k.key, { model: CLAUDE, messages: [{ role: "user", content: `json [[tag=${t}]]` }], response_format: { type: "json_schema", json_schema: { name: "x", schema } } });
    expect((await upstreamLog(t))[0]!.body.output_config).toEqual({ format: { type: "json_schema", schema } });
  });

  it("a stream cut before usage is billed by estimate, marked estimated and status cut; the client sees an error chunk", async () => {
    const k = await newTeamKey();
    const t = tag("oa-anth-cut");
    const r = await chat(k.key, { model: CLAUDE, stream: true, messages: [{ role: "user", content: `go [[tag=${t};reply=alpha beta gamma delta epsilon;cut_after=4;pt=50]]` }] });
    const events = openAIEvents(await r.text());
    expect(events.at(-1).error).toMatchObject({ code: 502 });
    expect(events.at(-1).choices[0].finish_reason).toBe("error");
    const g = await eventually(async () => {
      const x = await generationOf(k.key, r.headers.get("x-request-id")!);
      return x?.status === "cut" ? x : null;
    });
    expect(g.estimated).toBe(true);
    expect(g.prompt_tokens).toBe(50); // message_start's input count is kept
    expect(g.completion_tokens).toBeGreaterThan(0);
    expect(g.cost_exact).toBe(dollars(catalogCost(CLAUDE, { prompt: 50, completion: g.completion_tokens })));
  });

  it("maps provider errors to OpenAI's shape with the provider's status", async () => {
    const k = await newTeamKey();
    const r = await chat(k.key, { model: CLAUDE, messages: [{ role: "user", content: `x [[tag=${tag("e")};status=400;error_message=messages: bad]]` }] });
    expect(r.status).toBe(400);
    const body = (await r.json()) as any;
    expect(body.error.message).toContain("messages: bad");
    expect(body.error.type).toBe("invalid_request_error");
    const r2 = await chat(k.key, { model: CLAUDE, messages: [{ role: "user", content: `x [[tag=${tag("e")};status=429;retry_after=3]]` }] });
    expect(r2.status).toBe(429);
    expect(r2.headers.get("retry-after")).toBe("3");
    await r2.body?.cancel();
  });
});

describe("OpenAI format in, Gemini upstream", () => {
  it("translates the request and answers with usage (thoughts in completion, cache reads) and exact cost", async () => {
    const k = await newTeamKey();
    const t = tag("oa-gem");
    const r = await chat(k.key, {
      model: GEMINI,
      messages: [
        { role: "system", content: "Be terse." },
        { role: "user", content: [{ type: "text", text: `look [[tag=${t};pt=200;cached=150;ct=30;reasoning=20;thinking=hmm]]` }, { type: "image_url", image_url: { url: PNG } }] },
      ],
      max_tokens: 500,
      temperature: 0.3,
      stop: ["X"],
      response_format: { type: "json_object" },
      reasoning: { max_tokens: 256 },
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      tool_choice: { type: "function", function: { name: "f" } },
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as any;
    expect(body.choices[0].message).toMatchObject({ content: "Hello from upstream", reasoning: "hmm" });
    expect(body.usage).toMatchObject({ prompt_tokens: 200, completion_tokens: 30, prompt_tokens_details: { cached_tokens: 150 }, completion_tokens_details: { reasoning_tokens: 20 } });
    const [sent] = await upstreamLog(t);
    expect(sent!.path).toBe("/v1beta/models/gemini-2.5-flash-lite:generateContent");
    expect(sent!.auth).toBe("gemini-test-upstream");
    expect(sent!.body).toMatchObject({
      systemInstruction: { parts: [{ text: "Be terse." }] },
      contents: [{ role: "user", parts: [{ text: expect.stringContaining("look") }, { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } }] }],
      generationConfig: { maxOutputTokens: 500, temperature: 0.3, stopSequences: ["X"], responseMimeType: "application/json", thinkingConfig: { thinkingBudget: 256, includeThoughts: true } },
      tools: [{ functionDeclarations: [{ name: "f", parametersJsonSchema: { type: "object" } }] }],
      toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["f"] } },
    });
    const g = await billed(k.key, r.headers.get("x-request-id")!, GEMINI, { prompt: 200, completion: 30, cached: 150, reasoning: 20 });
    expect(body.usage.cost).toBe(g.cost);
  });

  it("streams text and a tool call; usage from the last usageMetadata", async () => {
    const k = await newTeamKey();
    const t = tag("oa-gem-s");
    const r = await chat(k.key, {
      model: GEMINI,
      stream: true,
      messages: [{ role: "user", content: `w [[tag=${t};reply=sunny day;tool=get_weather;pt=25;ct=8]]` }],
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }],
    });
    const events = openAIEvents(await r.text());
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("")).toBe("sunny day");
    const call = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? [])[0];
    expect(call.function).toEqual({ name: "get_weather", arguments: '{"city":"Paris"}' });
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe("tool_calls");
    expect(chunks.at(-1).usage).toMatchObject({ prompt_tokens: 25, completion_tokens: 8 });
    expect((await upstreamLog(t))[0]!.path).toBe("/v1beta/models/gemini-2.5-flash-lite:streamGenerateContent");
    await billed(k.key, r.headers.get("x-request-id")!, GEMINI, { prompt: 25, completion: 8 });
  });

  it("sends earlier tool calls back as functionCall / functionResponse parts", async () => {
    const k = await newTeamKey();
    const t = tag("oa-gem-hist");
    await chat(k.key, {
      model: GEMINI,
      messages: [
        { role: "user", content: "weather in Oslo?" },
        { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }] },
        { role: "tool", tool_call_id: "c1", content: '{"temp":3}' },
        { role: "user", content: `thanks [[tag=${t}]]` },
      ],
    });
    const sent = (await upstreamLog(t))[0]!.body;
    expect(sent.contents).toEqual([
      { role: "user", parts: [{ text: "weather in Oslo?" }] },
      { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Oslo" } }, thoughtSignature: "skip_thought_signature_validator" }] },
      { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { temp: 3 } } }, { text: expect.stringContaining("thanks") }] },
    ]);
  });

  it("maps a Gemini error to the caller's status", async () => {
    const k = await newTeamKey();
    const r = await chat(k.key, { model: GEMINI, messages: [{ role: "user", content: `x [[tag=${tag("ge")};status=400;error_message=Invalid JSON payload]]` }] });
    expect(r.status).toBe(400);
    expect(((await r.json()) as any).error.message).toContain("Invalid JSON payload");
  });
});

describe("unknown models", () => {
  it("404 naming the model and suggesting close ids", async () => {
    const k = await newTeamKey();
    const r = await chat(k.key, { model: "anthropic/claude-haiku-4.6", messages: [{ role: "user", content: "x" }] });
    expect(r.status).toBe(404);
    const body = (await r.json()) as any;
    expect(body.error.code).toBe("model_not_found");
    expect(body.error.message).toContain("anthropic/claude-haiku-4.6");
    expect(body.error.message).toContain("anthropic/claude-haiku-4.5");
  });
});
