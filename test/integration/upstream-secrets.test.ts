import { describe, expect, it } from "vitest";
import { chat, eventually, generationOf, gw, newTeamKey, uniqueTag, userMsg } from "./helpers";

/*
 * A provider that quotes the credentials it received in its error (some OpenAI-compatible servers do) must
 * not make the gateway show them: not to the client, not in the request's record (/v1/generation, export).
 * vitest.config.ts sets OPENAI_API_KEY "sk-test-upstream" and ANTHROPIC_API_KEY "sk-ant-test-upstream".
 */
const SECRETS = /sk-test-upstream|sk-ant-test-upstream|Bearer sk-|test-upstream/;

const messages = (key: string, body: Record<string, unknown>) => gw("/v1/messages", { method: "POST", key, json: body });

describe("provider credentials quoted in upstream errors", () => {
  it("never reach the client, the request's attempts or the export; 401/403 become the provider rejecting the gateway's credentials", async () => {
    const k = await newTeamKey();
    const ids: string[] = [];
    const send = async (label: string, r: Response, status: number, expectMessage?: RegExp) => {
      const text = await r.text();
      ids.push(r.headers.get("x-request-id")!);
      expect(text, label).not.toMatch(SECRETS);
      expect(r.status, `${label}: ${text}`).toBe(status);
      if (expectMessage) expect(text, label).toMatch(expectMessage);
    };
    for (const stream of [false, true]) {
      for (const status of [401, 403]) {
        const tag = uniqueTag("sec-auth");
        const credentials = (p: string) => new RegExp(`${p} rejected the gateway's credentials`);
        await send(
          `openai ${status} stream=${stream}`,
          await chat(k.key, { model: "openai/gpt-4o-mini", stream, messages: userMsg(`[[tag=${tag};status=${status};quote_auth=1]]`) }),
          502,
          credentials("openai"),
        );
        await send(
          `anthropic ${status} stream=${stream}`,
          await messages(k.key, { model: "anthropic/claude-haiku-4.5", max_tokens: 16, stream, messages: userMsg(`[[tag=${tag};status=${status};quote_auth=1]]`) }),
          502,
          credentials("anthropic"),
        );
        await send(
          `anthropic via chat ${status} stream=${stream}`,
          await chat(k.key, { model: "anthropic/claude-haiku-4.5", stream, messages: userMsg(`[[tag=${tag};status=${status};quote_auth=1]]`) }),
          502,
          credentials("anthropic"),
        );
      }
      // Another status with the provider's message passed on: the key in it is not.
      const tag = uniqueTag("sec-400");
      await send(`openai 400 stream=${stream}`, await chat(k.key, { model: "openai/gpt-4o-mini", stream, messages: userMsg(`[[tag=${tag};status=400;quote_auth=1]]`) }), 400);
      await send(`anthropic 400 stream=${stream}`, await messages(k.key, { model: "anthropic/claude-haiku-4.5", max_tokens: 16, stream, messages: userMsg(`[[tag=${tag};status=400;quote_auth=1]]`) }), 400);
    }
    // An in-band error event before the first token, quoting the key: the stream ends in the gateway's error.
    const tag = uniqueTag("sec-inband");
    await send("in-band", await chat(k.key, { model: "openai/gpt-4o-mini", stream: true, messages: userMsg(`[[tag=${tag};error_event_after=0;quote_auth=1]]`) }), 200);
    // ... and mid-answer, passed through to an OpenAI-format client, translated for an Anthropic-format one.
    await send("in-band mid-answer", await chat(k.key, { model: "openai/gpt-4o-mini", stream: true, messages: userMsg(`[[tag=${tag};error_event_after=2;quote_auth=1]]`) }), 200);
    await send(
      "in-band mid-answer, translated",
      await messages(k.key, { model: "openai/gpt-4o-mini", max_tokens: 16, stream: true, messages: userMsg(`[[tag=${tag};error_event_after=2;quote_auth=1]]`) }),
      200,
    );
    const anthropicInBand = await messages(k.key, {
      model: "anthropic/claude-haiku-4.5",
      max_tokens: 16,
      stream: true,
      messages: userMsg(`[[tag=${tag};error_event_after=3;quote_auth=1]]`),
    });
    const anthropicText = await anthropicInBand.clone().text();
    // Passed through to an Anthropic-format client: the provider's overload stays an overload.
    expect(anthropicText).toMatch(/event: error\ndata: .*"overloaded_error"/);
    await send("in-band mid-answer, Anthropic passthrough", anthropicInBand, 200);

    for (const id of ids) {
      const g = await eventually(() => generationOf(k.key, id));
      expect(g.attempts.length, id).toBeGreaterThan(0);
      expect(JSON.stringify(g), id).not.toMatch(SECRETS);
    }
    for (const format of ["ndjson", "csv"]) {
      const r = await gw(`/v1/usage/export?format=${format}`, { key: k.key });
      const text = await r.text();
      expect(r.status, text).toBe(200);
      expect(text).toContain(ids[0]!);
      expect(text).not.toMatch(SECRETS);
    }
  });
});
