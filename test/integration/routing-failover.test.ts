import { beforeEach, describe, expect, it } from "vitest";
import { chat, eventually, expectError, expectedCost, generationOf, sseEvents, uniqueTag, upstreamLog, userMsg } from "./helpers";
import { calls, closeCircuits, gaps, teamWithPolicy, timedChat } from "./routing-helpers";

/*
 * Retries and failover against the fake upstream, which serves three providers here (openai, groq, deepseek
 * all point at it); `KEY@model` directives script the primary and the fallback differently. Spacing is
 * measured on the upstream's clock, from when each request arrived.
 */
const PRIMARY = "openai/gpt-4.1-mini"; // context 1,047,576
const P = "gpt-4.1-mini";
const FALLBACK = "groq/llama-3.1-8b-instant"; // context 131,072
const F = "llama-3.1-8b-instant";
const BIG = "deepseek/deepseek-flash"; // context 1,048,576
const B = "deepseek-flash";

beforeEach(() =>
  closeCircuits(...[PRIMARY, FALLBACK, BIG].map((model) => ({ provider: model.slice(0, model.indexOf("/")), model }))),
);

describe("retries and failover", () => {
  it("429 with Retry-After: waits what the provider asked, then retries the same model", async () => {
    const k = await teamWithPolicy({});
    const tag = uniqueTag("r429ra");
    const { r } = await timedChat(k.key, { models: [PRIMARY, FALLBACK], messages: userMsg(`[[tag=${tag};status=429;retry_after=1;fail_first=1]]`) });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-switchyard-model")).toBe(PRIMARY);
    const c = await calls(tag);
    expect(c.map((x) => x.model)).toEqual([P, P]);
    expect(gaps(c)[0]).toBeGreaterThanOrEqual(990);
    // That it waits what was asked and no more is measured on a moved clock (test/unit/routing/attempts.test.ts).
  });

  it("429 without Retry-After: exponential backoff with jitter, never faster than 4 a second", async () => {
    const k = await teamWithPolicy({});
    const tag = uniqueTag("r429");
    const { r } = await timedChat(k.key, { model: PRIMARY, messages: userMsg(`[[tag=${tag};status=429;fail_first=2]]`) });
    expect(r.status).toBe(200);
    const g = gaps(await calls(tag));
    expect(g).toHaveLength(2);
    // first retry after 250–400 ms, second after 400–800 ms (the jitter's bounds are unit-tested on retryDelay;
    // here: never sooner than the backoff; the exact waits are measured on a moved clock in test/unit/routing/attempts.test.ts)
    expect(g[0]).toBeGreaterThanOrEqual(245);
    expect(g[1]).toBeGreaterThanOrEqual(395);
  });

  it("429 with a Retry-After past the cap: fails over at once, or answers 429 when nothing else can serve", async () => {
    const k = await teamWithPolicy({});
    const tag = uniqueTag("r429cap");
    const { r } = await timedChat(k.key, { models: [PRIMARY, FALLBACK], messages: userMsg(`[[tag=${tag};status@${P}=429;retry_after@${P}=30]]`) });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-switchyard-model")).toBe(FALLBACK);
    const c = await calls(tag);
    expect(c.map((x) => x.model)).toEqual([P, F]);
    // Not the 30 s asked for: the wait past the cap is covered on a moved clock (test/unit/routing/attempts.test.ts).

    const tag2 = uniqueTag("r429only");
    const alone = await timedChat(k.key, { model: PRIMARY, messages: userMsg(`[[tag=${tag2};status=429;retry_after=30;error_message=slow down]]`) });
    expect(alone.r.status).toBe(429);
    expect(alone.r.headers.get("retry-after")).toBe("30");
    expect(JSON.parse(alone.text).error.message).toBe("openai: slow down");
    expect((await calls(tag2)).length).toBe(1);
  });

  it("500 once: retried on the same model, which answers", async () => {
    const k = await teamWithPolicy({});
    const tag = uniqueTag("r500");
    const { r, text } = await timedChat(k.key, { models: [PRIMARY, FALLBACK], messages: userMsg(`[[tag=${tag};status=500;fail_first=1;reply=second time lucky]]`) });
    expect(r.status).toBe(200);
    expect(JSON.parse(text).choices[0].message.content).toBe("second time lucky");
    expect((await calls(tag)).map((x) => x.model)).toEqual([P, P]);
  });

  it("503 persistent: the retry budget on the primary, then the fallback answers, named, and only it is billed", async () => {
    const k = await teamWithPolicy({ routing: { retries: 2 } });
    const tag = uniqueTag("r503");
    const { r, text } = await timedChat(k.key, {
      models: [PRIMARY, FALLBACK],
      messages: userMsg(`[[tag=${tag};status@${P}=503;error_message@${P}=overloaded;reply=from the fallback;pt=20;ct=5]]`),
    });
    expect(r.status).toBe(200);
    const body = JSON.parse(text);
    expect(body.model).toBe(FALLBACK);
    expect(body.provider).toBe("Groq");
    expect(r.headers.get("x-switchyard-provider")).toBe("groq");
    const c = await calls(tag);
    expect(c.map((x) => x.model)).toEqual([P, P, P, F]);
    const g = gaps(c);
    expect(g[0]).toBeGreaterThanOrEqual(245);
    expect(g[1]).toBeGreaterThanOrEqual(395);
    // Failover right after the last retry is covered on a moved clock (test/unit/routing/attempts.test.ts).
    const gen = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(gen.status).toBe("ok");
    expect(gen.model).toBe(FALLBACK);
    expect(gen.attempts.map((a: any) => [a.model, a.status, a.ok])).toEqual([
      [PRIMARY, 503, false],
      [PRIMARY, 503, false],
      [PRIMARY, 503, false],
      [FALLBACK, 200, true],
    ]);
    expect(gen.cost_exact).toBe(expectedCost(FALLBACK, { prompt: 20, completion: 5 }));
  });

  it("a connection reset before headers: retried, then failed over", async () => {
    const k = await teamWithPolicy({ routing: { retries: 1 } });
    const tag = uniqueTag("rreset");
    const { r } = await timedChat(k.key, { models: [PRIMARY, FALLBACK], messages: userMsg(`[[tag=${tag};reset@${P}=1]]`) });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-switchyard-model")).toBe(FALLBACK);
    const c = await calls(tag);
    expect(c.map((x) => x.model)).toEqual([P, P, F]);
    expect(gaps(c)[0]).toBeGreaterThanOrEqual(245);
  });

  it("no response at all (stream): the headers timeout fails over at once; nothing is retried into the same silence", async () => {
    const k = await teamWithPolicy({ routing: { timeouts_ms: { headers: 300 } } });
    const tag = uniqueTag("rhang");
    const { r, text } = await timedChat(k.key, { models: [PRIMARY, FALLBACK], stream: true, messages: userMsg(`[[tag=${tag};hang@${P}=1;reply=fallback here]]`) });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-switchyard-model")).toBe(FALLBACK);
    expect(text).toContain("fallback ");
    expect(text.trim().endsWith("data: [DONE]")).toBe(true);
    const c = await calls(tag);
    expect(c.map((x) => x.model)).toEqual([P, F]);
    // The limit counts from the send, a moment before the provider saw the request: a busy machine shortens the gap it sees.
    expect(gaps(c)[0]).toBeGreaterThanOrEqual(200);
    expect(gaps(c)[0]).toBeLessThan(1000); // the policy's 300 ms, not the gateway's 1000 ms
  });

  it("no response at all (not streamed): 504 once the total time limit passes", async () => {
    const k = await teamWithPolicy({ routing: { timeouts_ms: { total: 600 } } });
    const tag = uniqueTag("rhangns");
    const t0 = Date.now();
    const e = await expectError(await chat(k.key, { model: PRIMARY, messages: userMsg(`[[tag=${tag};hang=1]]`) }), 504, "upstream_timeout");
    const ms = Date.now() - t0;
    expect(e.message).toMatch(/total time limit/);
    expect(ms).toBeGreaterThanOrEqual(590);
  });

  it("a slow first token: fails over before any content reached the client; the answer names the fallback", async () => {
    const k = await teamWithPolicy({ routing: { timeouts_ms: { first_token: 300 } } });
    const tag = uniqueTag("rslow");
    const { r, text } = await timedChat(k.key, {
      models: [PRIMARY, FALLBACK],
      stream: true,
      messages: userMsg(`[[tag=${tag};token_delay@${P}=2000;reply@${P}=primary words;reply@${F}=fallback words]]`),
    });
    expect(r.status).toBe(200);
    expect(text).not.toContain("primary");
    const chunks = sseEvents(text)
      .filter((e) => e.startsWith("data: {"))
      .map((e) => JSON.parse(e.slice(6)));
    expect(chunks.map((c) => c.choices?.[0]?.delta?.content ?? "").join("")).toBe("fallback words");
    // One role chunk (the primary's, passed on at once); the fallback's is dropped.
    expect(chunks.filter((c) => c.choices?.[0]?.delta?.role === "assistant")).toHaveLength(1);
    const usage = chunks.at(-1);
    expect(usage.usage.cost).toBeGreaterThan(0);
    expect(usage.model).toBe(FALLBACK);
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    const c = await calls(tag);
    expect(c.map((x) => x.model)).toEqual([P, F]);
    expect(gaps(c)[0]).toBeGreaterThanOrEqual(200); // as above: the limit counts from the send
    expect(gaps(c)[0]).toBeLessThan(2000); // the limit, not the primary's 2 s token
    const gen = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(gen.model).toBe(FALLBACK);
    expect(gen.attempts[0]).toMatchObject({ model: PRIMARY, ok: false, error: expect.stringMatching(/no first token .* within 300 ms/) });
    expect(gen.attempts[1]).toMatchObject({ model: FALLBACK, ok: true });
  });

  it("the first token counts, not the role chunk: a stream that stalls after it fails over too", async () => {
    const k = await teamWithPolicy({ routing: { timeouts_ms: { first_token: 300 } } });
    const tag = uniqueTag("rrole");
    const { r, text } = await timedChat(k.key, { models: [PRIMARY, FALLBACK], stream: true, messages: userMsg(`[[tag=${tag};stall_after@${P}=1]]`) });
    expect(r.status).toBe(200);
    const last = sseEvents(text).filter((e) => e.startsWith("data: {")).at(-1)!;
    expect(JSON.parse(last.slice(6)).model).toBe(FALLBACK);
    expect((await calls(tag)).map((x) => x.model)).toEqual([P, F]);
  });

  it("a stream committed at its headers whose every candidate fails before a token: an in-band error, no [DONE]", async () => {
    const k = await teamWithPolicy({ routing: { timeouts_ms: { first_token: 300 }, retries: 0 } });
    const tag = uniqueTag("rnotoken");
    const { r, text } = await timedChat(k.key, { models: [PRIMARY, FALLBACK], stream: true, messages: userMsg(`[[tag=${tag};stall_after=1]]`) });
    expect(r.status).toBe(200);
    expect(text).not.toContain("[DONE]");
    const events = sseEvents(text).filter((e) => e.startsWith("data: {")).map((e) => JSON.parse(e.slice(6)));
    expect(events.filter((e) => e.choices?.[0]?.delta?.role === "assistant")).toHaveLength(1);
    const err = events.at(-1);
    expect(err.choices[0].finish_reason).toBe("error");
    expect(err.error.message).toMatch(/no first token from groq within 300 ms/);
    expect(err.error.code).toBe(504);
    expect((await calls(tag)).map((x) => x.model)).toEqual([P, F]);
    const gen = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(gen.cost).toBe(0);
    expect(gen.status).toBe("error");
    expect(gen.attempts.map((a: { ok: boolean }) => a.ok)).toEqual([false, false]);
  });

  it("a provider that sends an error event before its first token is failed over within the same stream", async () => {
    const k = await teamWithPolicy({});
    const tag = uniqueTag("rpreerr");
    const { r, text } = await timedChat(k.key, {
      models: [PRIMARY, FALLBACK],
      stream: true,
      messages: userMsg(`[[tag=${tag};error_event_after@${P}=1;reply@${F}=fallback words]]`),
    });
    expect(r.status).toBe(200);
    const chunks = sseEvents(text).filter((e) => e.startsWith("data: {")).map((e) => JSON.parse(e.slice(6)));
    expect(chunks.some((c) => c.error)).toBe(false);
    expect(chunks.map((c) => c.choices?.[0]?.delta?.content ?? "").join("")).toBe("fallback words");
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    // An error event is a 502: retried on the primary within the retry budget (2), then failed over.
    expect((await calls(tag)).map((x) => x.model)).toEqual([P, P, P, F]);
  });

  it("a Gemini-format provider's error event before its first token is failed over the same way", async () => {
    const GEMINI = "gemini/gemini-2.5-flash-lite";
    await closeCircuits({ provider: "gemini", model: GEMINI });
    const k = await teamWithPolicy({});
    const tag = uniqueTag("rpreerr-gem");
    const { r, text } = await timedChat(k.key, {
      models: [GEMINI, FALLBACK],
      stream: true,
      messages: userMsg(`[[tag=${tag};error_event_after@gemini-2.5-flash-lite=0;reply@${F}=fallback words]]`),
    });
    expect(r.status).toBe(200);
    const chunks = sseEvents(text).filter((e) => e.startsWith("data: {")).map((e) => JSON.parse(e.slice(6)));
    expect(chunks.some((c) => c.error)).toBe(false);
    expect(chunks.map((c) => c.choices?.[0]?.delta?.content ?? "").join("")).toBe("fallback words");
    const sent = await upstreamLog(tag);
    expect(sent.at(-1)!.body.model).toBe(F);
    expect(sent.length).toBeGreaterThan(1);
    expect(sent.slice(0, -1).every((e) => e.path === "/v1beta/models/gemini-2.5-flash-lite:streamGenerateContent")).toBe(true);
  });

  it("context length exceeded: never retried; fails over to a model with a larger context, skipping smaller ones", async () => {
    const k = await teamWithPolicy({});
    const tag = uniqueTag("rctx");
    const msg = "This model's maximum context length is 1047576 tokens. However, your messages resulted in 1100000 tokens.";
    const d = `status@${P}=400;error_code@${P}=context_length_exceeded;error_message@${P}=${msg}`;
    const { r } = await timedChat(k.key, { models: [PRIMARY, FALLBACK, BIG], messages: userMsg(`[[tag=${tag};${d}]]`) });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-switchyard-model")).toBe(BIG);
    expect((await calls(tag)).map((x) => x.model)).toEqual([P, B]);

    const tag2 = uniqueTag("rctx2");
    const e = await expectError(await chat(k.key, { models: [PRIMARY, FALLBACK], messages: userMsg(`[[tag=${tag2};${d}]]`) }), 400, "context_length_exceeded");
    expect(e.message).toBe(`openai: ${msg}`);
    expect((await calls(tag2)).map((x) => x.model)).toEqual([P]);
  });

  it("content policy: returned with the provider's reason, never retried nor failed over", async () => {
    const k = await teamWithPolicy({});
    const tag = uniqueTag("rcontent");
    const reason = "Your request was rejected as a result of our safety system.";
    const r = await chat(k.key, {
      models: [PRIMARY, FALLBACK],
      messages: userMsg(`[[tag=${tag};status=400;error_code=content_policy_violation;error_message=${reason}]]`),
    });
    const e = await expectError(r, 400, "content_policy");
    expect(e.message).toBe(`openai: ${reason}`);
    expect(e.provider).toBe("openai");
    expect((await calls(tag)).map((x) => x.model)).toEqual([P]);
  });
});
