import { describe, expect, it } from "vitest";
import { eventually, eventJson, generationOf, sseEvents, uniqueTag, userMsg } from "./helpers";
import { teamWithPolicy, timedChat } from "./routing-helpers";

/*
 * Streams that misbehave after the answer began (bytes already reached the client, so no failover):
 * never a truncated answer presented as success.
 */
const MODEL = "openai/gpt-4.1-mini";

function parse(text: string) {
  const events = sseEvents(text);
  const data = events.filter((e) => e.startsWith("data: {")).map(eventJson);
  const content = data.map((d) => d.choices?.[0]?.delta?.content ?? "").join("");
  return { events, data, content, done: events.at(-1) === "data: [DONE]\n\n", last: data.at(-1) };
}

describe("streams that misbehave mid-answer", () => {
  it("cut mid-answer: what arrived, then an in-band error (OpenRouter's shape), no [DONE]; billed as produced", async () => {
    const k = await teamWithPolicy({});
    const tag = uniqueTag("cut");
    const { r, text } = await timedChat(k.key, { model: MODEL, stream: true, messages: userMsg(`[[tag=${tag};cut_after=3;reply=one two three four five]]`) });
    expect(r.status).toBe(200);
    const s = parse(text);
    expect(s.content).toBe("one two ");
    expect(s.done).toBe(false);
    expect(s.last).toMatchObject({ error: { code: 502, message: expect.any(String) }, choices: [{ finish_reason: "error" }], model: MODEL });
    const gen = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(gen).toMatchObject({ status: "cut", estimated: true, model: MODEL });
    expect(gen.completion_tokens).toBeGreaterThan(0);
    expect(gen.attempts).toHaveLength(1);
  });

  it("a stall mid-answer: the idle limit ends it with an in-band 504 error, within the bound", async () => {
    const k = await teamWithPolicy({ routing: { timeouts_ms: { idle: 300 } } });
    const tag = uniqueTag("stall");
    const { r, text, ms } = await timedChat(k.key, { model: MODEL, stream: true, messages: userMsg(`[[tag=${tag};stall_after=3;reply=one two three four]]`) });
    expect(r.status).toBe(200);
    const s = parse(text);
    expect(s.content).toBe("one two ");
    expect(s.done).toBe(false);
    expect(s.last).toMatchObject({ error: { code: 504, message: "upstream stream idle for 300 ms" }, choices: [{ finish_reason: "error" }] });
    expect(ms).toBeGreaterThanOrEqual(290);
    const gen = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(gen.status).toBe("cut");
  });

  it("a malformed event is dropped; the answer completes", async () => {
    const k = await teamWithPolicy({});
    const tag = uniqueTag("garbage");
    const { r, text } = await timedChat(k.key, { model: MODEL, stream: true, messages: userMsg(`[[tag=${tag};garbage_at=2;reply=alpha beta gamma]]`) });
    expect(r.status).toBe(200);
    expect(text).not.toContain("not json");
    const s = parse(text);
    expect(s.content).toBe("alpha beta gamma");
    expect(s.done).toBe(true);
    expect(s.data.at(-1).usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 7 });
  });

  it("a stream that ends without [DONE] is finalised at once, with usage", async () => {
    const k = await teamWithPolicy({ routing: { timeouts_ms: { idle: 5000 } } });
    const tag = uniqueTag("nodone");
    const { r, text } = await timedChat(k.key, { model: MODEL, stream: true, messages: userMsg(`[[tag=${tag};no_done=1;reply=all here]]`) });
    expect(r.status).toBe(200);
    const s = parse(text);
    expect(s.content).toBe("all here");
    expect(s.done).toBe(true);
    expect(s.data.at(-1).usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 7, cost: expect.any(Number) });
    // Finalised at its end, not by the idle limit: an idle stop would end with an error event and status cut.
    const gen = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(gen).toMatchObject({ status: "ok", estimated: false });
  });

  it("a stream that ends without [DONE] and without a finish is a cut, not a success", async () => {
    const k = await teamWithPolicy({});
    const tag = uniqueTag("noend");
    const { text } = await timedChat(k.key, { model: MODEL, stream: true, messages: userMsg(`[[tag=${tag};cut_after=2;reply=half of it]]`) });
    const s = parse(text);
    expect(s.done).toBe(false);
    expect(s.last.choices[0].finish_reason).toBe("error");
  });
});
