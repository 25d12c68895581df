import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { chat, eventJson, expectedCost, newTeamKey, sseEvents, uniqueTag, upstreamLog, userMsg } from "./helpers";

/** The same scenario fetched straight from the fake upstream, as the gateway would ask for it. */
async function upstreamDirect(body: Record<string, unknown>): Promise<string> {
  const r = await fetch(`${env.UPSTREAM_ORIGIN}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(r.status).toBe(200);
  return r.text();
}

describe("POST /v1/chat/completions, streamed", () => {
  it("passes the upstream's bytes through unchanged but for `usage: null` blanked, then a usage chunk with cost, then [DONE]", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("st");
    const messages = userMsg(`[[tag=${tag};reply=One two three, four five.;pt=321;ct=6]]`);
    const r = await chat(k.key, { model: "openai/gpt-4o-mini", messages, stream: true, temperature: 0 });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/event-stream");
    expect(r.headers.get("x-switchyard-provider")).toBe("openai");
    const id = r.headers.get("x-request-id")!;
    expect(id).toMatch(/^gen-\d+-[0-9a-f]{20}$/);
    const got = await r.text();

    // The gateway asked for usage although the client did not.
    const [sent] = await upstreamLog(tag);
    expect(sent!.body).toEqual({ model: "gpt-4o-mini", messages, stream: true, temperature: 0, stream_options: { include_usage: true } });

    const direct = await upstreamDirect(sent!.body);
    const upstreamEvents = sseEvents(direct);
    const usageAt = upstreamEvents.findIndex((e) => /"usage":\{/.test(e));
    expect(usageAt).toBe(upstreamEvents.length - 2); // ..., usage, [DONE]
    const before = upstreamEvents.slice(0, usageAt).join("");
    // OpenAI's `"usage":null` on every chunk before the usage chunk is overwritten with spaces, comma and all
    // (OpenRouter's SDK rejects a null usage): the same JSON less that member, the same number of bytes.
    expect(before.match(/,"usage":null/g)).toHaveLength(usageAt);
    expect(got.slice(0, before.length)).toBe(before.replaceAll(',"usage":null', " ".repeat(',"usage":null'.length)));

    const rest = sseEvents(got.slice(before.length));
    expect(rest.join("")).toBe(got.slice(before.length));
    expect(rest).toHaveLength(2);
    expect(rest[1]).toBe("data: [DONE]\n\n");
    const usage = eventJson(rest[0]!);
    const upstreamUsage = eventJson(upstreamEvents[usageAt]!);
    const cost = expectedCost("openai/gpt-4o-mini", { prompt: 321, completion: 6 });
    expect(usage).toEqual({ ...upstreamUsage, model: "openai/gpt-4o-mini", provider: "OpenAI", usage: { ...upstreamUsage.usage, cost: Number(cost) } });
    expect(usage.usage.cost).toBe(0.00005175); // 321 × 0.00000015 + 6 × 0.0000006
  });

  it("asks for usage even when the client turned it off, and keeps the client's other stream options", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("st-opts");
    const r = await chat(k.key, {
      model: "openai/gpt-4o-mini",
      messages: userMsg(`[[tag=${tag}]]`),
      stream: true,
      stream_options: { include_usage: false, include_obfuscation: false },
    });
    const events = sseEvents(await r.text());
    expect(events.at(-1)).toBe("data: [DONE]\n\n");
    expect(eventJson(events.at(-2)!).usage.cost).toBe(Number(expectedCost("openai/gpt-4o-mini", { prompt: 11, completion: 7 })));
    const [sent] = await upstreamLog(tag);
    expect(sent!.body.stream_options).toEqual({ include_usage: true, include_obfuscation: false });
  });

  it("streams mock/echo with a usage chunk carrying cost", async () => {
    const k = await newTeamKey();
    const r = await chat(k.key, { model: "mock/echo", messages: userMsg("stream me please"), stream: true });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-switchyard-provider")).toBe("mock");
    const events = sseEvents(await r.text());
    expect(events.at(-1)).toBe("data: [DONE]\n\n");
    const chunks = events.slice(0, -1).map(eventJson);
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    expect(text).toBe("stream me please");
    const last = chunks.at(-1);
    expect(last.choices).toEqual([]);
    expect(last.provider).toBe("Switchyard mock");
    expect(last.usage).toMatchObject({ prompt_tokens: 8, completion_tokens: 4, total_tokens: 12 });
    expect(last.usage.cost).toBe(Number(expectedCost("mock/echo", { prompt: 8, completion: 4 })));
  });

  it("adds a usage chunk, estimated, when the provider sends none", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("st-nousage");
    const r = await chat(k.key, { model: "openai/gpt-4o-mini", messages: userMsg(`[[tag=${tag};no_usage=1;reply=a b c]]`), stream: true });
    const events = sseEvents(await r.text());
    expect(events.at(-1)).toBe("data: [DONE]\n\n");
    const usage = eventJson(events.at(-2)!);
    expect(usage.id).toBe(r.headers.get("x-request-id"));
    expect(usage.choices).toEqual([]);
    expect(usage.usage.cost).toBeGreaterThan(0);
    expect(usage.usage.cost).toBe(
      Number(expectedCost("openai/gpt-4o-mini", { prompt: usage.usage.prompt_tokens, completion: usage.usage.completion_tokens })),
    );
  });
});
