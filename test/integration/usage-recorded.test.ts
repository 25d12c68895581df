import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { chat, eventJson, eventually, expectedCost, generationOf, newTeamKey, sseEvents, uniqueTag, upstreamLog, usageOf, userMsg } from "./helpers";

const LONG_REPLY = Array.from({ length: 60 }, (_, i) => `w${i}`).join(" ");

describe("usage is recorded", () => {
  it("for a request not streamed", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("rec-ns");
    const r = await chat(k.key, { model: "openai/gpt-4o-mini", user: "alice", messages: userMsg(`[[tag=${tag};pt=40;ct=9;cached=8;first_delay=30]]`) });
    expect(r.status).toBe(200);
    const id = r.headers.get("x-request-id")!;
    const g = await eventually(() => generationOf(k.key, id));
    const cost = expectedCost("openai/gpt-4o-mini", { prompt: 40, completion: 9, cached: 8 });
    // The request's record and the team's totals count the same.
    const counts = { prompt_tokens: 40, completion_tokens: 9, cached_tokens: 8, cache_write_tokens: 0, reasoning_tokens: 0, cost: Number(cost), cost_exact: cost };
    expect(g).toMatchObject({
      id,
      team: k.team,
      key_id: k.id,
      user: "alice",
      model: "openai/gpt-4o-mini",
      model_requested: "openai/gpt-4o-mini",
      provider: "openai",
      status: "ok",
      streamed: false,
      cancelled: false,
      estimated: false,
      ...counts,
    });
    expect(g.attempts).toEqual([{ provider: "openai", model: "openai/gpt-4o-mini", status: 200, ok: true, latency_ms: expect.any(Number) }]);
    // The provider waited 30 ms before answering: both times include that wait, the first byte within the whole.
    expect(g.ttfb_ms).toBeGreaterThanOrEqual(30);
    expect(g.latency_ms).toBeGreaterThanOrEqual(g.ttfb_ms);
    expect(g.attempts[0].latency_ms).toBeGreaterThanOrEqual(30);
    expect(Date.parse(g.created_at)).toBeGreaterThan(Date.now() - 60_000);

    const u = await usageOf(k.key);
    expect(u.totals).toEqual({ requests: 1, ...counts });
  });

  it("for a stream", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("rec-st");
    const r = await chat(k.key, { model: "openai/gpt-4o-mini", messages: userMsg(`[[tag=${tag};pt=70;ct=5]]`), stream: true });
    const id = r.headers.get("x-request-id")!;
    expect(sseEvents(await r.text()).at(-1)).toBe("data: [DONE]\n\n");
    const g = await eventually(() => generationOf(k.key, id));
    const cost = expectedCost("openai/gpt-4o-mini", { prompt: 70, completion: 5 });
    expect(g).toMatchObject({ status: "ok", streamed: true, cancelled: false, estimated: false, prompt_tokens: 70, completion_tokens: 5, cost_exact: cost });
    expect(g.ttfb_ms).toBeLessThanOrEqual(g.latency_ms);
    const u = await usageOf(k.key);
    expect(u.totals).toMatchObject({ requests: 1, prompt_tokens: 70, completion_tokens: 5, cost_exact: cost });
  });

  it("for a stream the client abandons, and the upstream call is closed", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("rec-abort");
    const ac = new AbortController();
    const r = await SELF.fetch("http://gateway/v1/chat/completions", {
      method: "POST",
      headers: { authorization: `Bearer ${k.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "openai/gpt-4o-mini", messages: userMsg(`[[tag=${tag};delay=50;reply=${LONG_REPLY}]]`), stream: true }),
      signal: ac.signal,
    });
    expect(r.status).toBe(200);
    const id = r.headers.get("x-request-id")!;
    const reader = r.body!.getReader();
    // Read until some of the answer's text has come, so there is text to bill.
    const dec = new TextDecoder();
    let seen = "";
    while (!/"content":"[^"]/.test(seen)) {
      const c = await reader.read();
      expect(c.done).toBe(false);
      seen += dec.decode(c.value, { stream: true });
    }
    ac.abort();
    await reader.cancel().catch(() => {});

    const g = await eventually(() => generationOf(k.key, id));
    expect(g).toMatchObject({ status: "cancelled", cancelled: true, streamed: true, estimated: true });
    // Billed at least its prompt (estimated from the body sent) and the text streamed before the cancel.
    expect(g.prompt_tokens).toBeGreaterThan(0);
    expect(g.completion_tokens).toBeGreaterThan(0);
    expect(g.cost_exact).toBe(expectedCost("openai/gpt-4o-mini", { prompt: g.prompt_tokens, completion: g.completion_tokens }));
    expect(g.attempts).toEqual([
      { provider: "openai", model: "openai/gpt-4o-mini", status: 200, ok: true, error: "client disconnected", latency_ms: expect.any(Number) },
    ]);

    // The whole answer takes 61 × 50 ms ≈ 3 s: the upstream must have been hung up on long before.
    const [up] = await eventually(async () => {
      const log = await upstreamLog(tag);
      return log[0]?.closed_at ? log : null;
    });
    expect(up!.completed).toBe(false);

    // Billed for what was produced, and counted.
    const u = await usageOf(k.key);
    expect(u.totals).toMatchObject({ requests: 1, completion_tokens: g.completion_tokens, cost_exact: g.cost_exact });
  });

  it("for a stream the upstream cuts: an in-band error, no [DONE], recorded as cut and estimated", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("rec-cut");
    const r = await chat(k.key, { model: "openai/gpt-4o-mini", messages: userMsg(`[[tag=${tag};cut_after=2;reply=never finished answer]]`), stream: true });
    expect(r.status).toBe(200);
    const id = r.headers.get("x-request-id")!;
    const text = await r.text();
    expect(text, text).not.toContain("[DONE]");
    const events = sseEvents(text);
    expect(events.join("")).toBe(text);
    expect(events).toHaveLength(3); // the role chunk, one content chunk, the error
    expect(eventJson(events[1]!).choices[0].delta.content).toBe("never ");
    const err = eventJson(events[2]!);
    expect(err).toMatchObject({
      id,
      object: "chat.completion.chunk",
      model: "openai/gpt-4o-mini",
      provider: "OpenAI",
      error: { code: 502 },
      choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }],
    });
    expect(err.error.message).toMatch(/^upstream stream/);

    const g = await eventually(() => generationOf(k.key, id));
    expect(g).toMatchObject({ status: "cut", estimated: true, cancelled: false, streamed: true });
    // Billed at least its prompt (estimated from the body sent) and the text streamed before the cancel.
    expect(g.prompt_tokens).toBeGreaterThan(0);
    expect(g.completion_tokens).toBeGreaterThan(0);
    expect(g.cost_exact).toBe(expectedCost("openai/gpt-4o-mini", { prompt: g.prompt_tokens, completion: g.completion_tokens }));
    expect(g.attempts[0].error).toBe(err.error.message);
    const u = await usageOf(k.key);
    expect(u.totals).toMatchObject({ requests: 1, cost_exact: g.cost_exact });
  });

  it("for a request no provider answered: recorded, but neither billed nor counted", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("rec-fail");
    const r = await chat(k.key, { model: "openai/gpt-4o-mini", messages: userMsg(`[[tag=${tag};status=503;error_message=overloaded]]`) });
    expect(r.status).toBe(502);
    const id = r.headers.get("x-request-id")!;
    const g = await eventually(() => generationOf(k.key, id));
    expect(g).toMatchObject({ status: "error", cost: 0, cost_exact: "0.000000000000", prompt_tokens: 0, completion_tokens: 0 });
    expect(g.attempts.length).toBeGreaterThanOrEqual(1); // more where the policy retries
    for (const a of g.attempts) {
      expect(a).toEqual({ provider: "openai", model: "openai/gpt-4o-mini", status: 503, ok: false, error: "overloaded", latency_ms: expect.any(Number) });
    }
    const u = await usageOf(k.key);
    expect(u.totals).toMatchObject({ requests: 0, cost_exact: "0.000000000000" });
  });
});
