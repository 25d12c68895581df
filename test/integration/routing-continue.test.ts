import { describe, expect, it } from "vitest";
import { eventually, eventJson, expectedCost, generationOf, sseEvents, uniqueTag, userMsg } from "./helpers";
import { calls, teamWithPolicy, timedChat } from "./routing-helpers";

/*
 * routing.continue_on_cut: a stream that dies mid-answer continues on a fallback that accepts an assistant
 * prefill (DeepSeek here), on the same response; if the fallback rejects the prefill, the client gets the
 * original failure.
 */
const PRIMARY = "openai/gpt-4.1-mini";
const P = "gpt-4.1-mini";
const PREFILL = "deepseek/deepseek-flash";
const D = "deepseek-flash";
const NO_PREFILL = "groq/llama-3.1-8b-instant";

function parse(text: string) {
  const events = sseEvents(text);
  const data = events.filter((e) => e.startsWith("data: {")).map(eventJson);
  return { data, content: data.map((d) => d.choices?.[0]?.delta?.content ?? "").join(""), done: events.at(-1) === "data: [DONE]\n\n" };
}

describe("continue on cut", () => {
  it("continues the answer on a fallback that takes the text so far as a prefill", async () => {
    const k = await teamWithPolicy({ routing: { continue_on_cut: true } });
    const tag = uniqueTag("cont");
    const { r, text } = await timedChat(k.key, {
      models: [PRIMARY, NO_PREFILL, PREFILL],
      stream: true,
      messages: userMsg(`[[tag=${tag};cut_after@${P}=3;reply@${P}=one two three four;reply@${D}=three four;pt@${D}=30;ct@${D}=2]]`),
    });
    expect(r.status).toBe(200);
    const s = parse(text);
    expect(s.content).toBe("one two three four");
    expect(s.done).toBe(true);
    const usage = s.data.at(-1);
    expect(usage).toMatchObject({ model: PREFILL, provider: "DeepSeek" });
    const c = await calls(tag);
    expect(c.map((x) => x.model)).toEqual([P, D]);
    expect(c[1]!.messages.at(-1)).toEqual({ role: "assistant", content: "one two ", prefix: true });
    const gen = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(gen).toMatchObject({ status: "ok", model: PREFILL, provider: "deepseek", estimated: true });
    expect(gen.attempts.map((a: any) => [a.model, a.ok])).toEqual([[PRIMARY, false], [PREFILL, true]]);
    expect(gen.attempts[0].error).toMatch(/; continued on deepseek\/deepseek-flash$/);
    // the cut part (estimated) at the primary's prices, plus the continuation as DeepSeek reported it
    // (the cut part is estimated as the gateway estimates any cut stream: a token per data event, 3 here)
    // The cut part is estimated from its text ("one two ": 8 bytes, 2 tokens); the continuation reported 2.
    expect(gen.completion_tokens).toBe(2 + 2);
    expect(Number(gen.cost_exact)).toBeGreaterThan(Number(expectedCost(PREFILL, { prompt: 30, completion: 2 })));
    expect(usage.usage.cost).toBeCloseTo(Number(gen.cost_exact), 12);
  });

  it("reports the original failure when the fallback rejects the prefill", async () => {
    const k = await teamWithPolicy({ routing: { continue_on_cut: true } });
    const tag = uniqueTag("cont-rej");
    const { text, r } = await timedChat(k.key, {
      models: [PRIMARY, PREFILL],
      stream: true,
      messages: userMsg(`[[tag=${tag};cut_after@${P}=3;reply@${P}=one two three four;reject_prefill@${D}=1]]`),
    });
    const s = parse(text);
    expect(s.content).toBe("one two ");
    expect(s.done).toBe(false);
    expect(s.data.at(-1)).toMatchObject({ model: PRIMARY, error: { code: 502 }, choices: [{ finish_reason: "error" }] });
    expect(s.data.at(-1).error.message).not.toMatch(/prefill/);
    expect((await calls(tag)).map((x) => x.model)).toEqual([P, D]);
    const gen = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(gen).toMatchObject({ status: "cut", model: PRIMARY });
  });

  it("is off unless the policy allows it, and never uses a fallback that cannot take a prefill", async () => {
    const off = await teamWithPolicy({});
    const tag = uniqueTag("cont-off");
    const a = parse((await timedChat(off.key, { models: [PRIMARY, PREFILL], stream: true, messages: userMsg(`[[tag=${tag};cut_after@${P}=3]]`) })).text);
    expect(a.done).toBe(false);
    expect((await calls(tag)).map((x) => x.model)).toEqual([P]);
    const on = await teamWithPolicy({ routing: { continue_on_cut: true } });
    const tag2 = uniqueTag("cont-none");
    const b = parse((await timedChat(on.key, { models: [PRIMARY, NO_PREFILL], stream: true, messages: userMsg(`[[tag=${tag2};cut_after@${P}=3]]`) })).text);
    expect(b.done).toBe(false);
    expect((await calls(tag2)).map((x) => x.model)).toEqual([P]);
  });
});
