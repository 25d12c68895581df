import { describe, expect, it } from "vitest";
import { pumpOpenAIStream, type PassthroughOptions, type PassthroughResult } from "../../../src/streaming/pump-openai";

const enc = new TextEncoder();

const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }], usage: null })}\n\n`;
const USAGE = `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: 5, completion_tokens: 3 } })}\n\n`;
const DONE = "data: [DONE]\n\n";
const BODY = [chunk({ role: "assistant", content: "" }), chunk({ content: "Hello " }), chunk({ content: "world" }), chunk({}, "stop")];
/** BODY as the client gets it: the same bytes, but each `"usage":null` (and its comma) blanked with spaces. */
const FORWARDED = BODY.map((e) => e.replace(',"usage":null', " ".repeat(',"usage":null'.length)));

/**
 * A stream of the given pieces, then an end, an error or nothing more (left open). Cancelling it errors it,
 * as aborting a fetch errors the response body.
 */
function upstream(pieces: string[], then: "close" | "error" | "open" = "close"): ReadableStream<Uint8Array> & { abort(why: string): void } {
  let i = 0;
  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  const s = new ReadableStream<Uint8Array>({
    start(c) {
      ctl = c;
    },
    pull(c) {
      if (i < pieces.length) return c.enqueue(enc.encode(pieces[i++]!));
      if (then === "close") c.close();
      else if (then === "error") c.error(new Error("connection reset"));
      else return new Promise(() => {});
    },
  });
  return Object.assign(s, { abort: (why: string) => ctl.error(new Error(`aborted: ${why}`)) });
}

/** Splits a string into pieces of 1..7 bytes (deterministic). */
function shred(s: string): string[] {
  const out: string[] = [];
  for (let i = 0, n = 1; i < s.length; i += n, n = (n % 7) + 1) out.push(s.slice(i, i + n));
  return out;
}

async function pump(
  source: ReturnType<typeof upstream>,
  opts: Partial<PassthroughOptions> = {},
): Promise<{ out: string; result: PassthroughResult; aborts: string[] }> {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const aborts: string[] = [];
  const reader = source.getReader();
  const collected = new Response(readable).text();
  const result = await pumpOpenAIStream({
    reader,
    writer: writable.getWriter(),
    usageEvent: (u, n) => enc.encode(`data: {"usage_from_upstream":${JSON.stringify(u?.usage ?? null)},"text_bytes":${n}}\n\n`),
    errorEvent: (m, code) => enc.encode(`data: {"error":${JSON.stringify(m)},"code":${code}}\n\n`),
    abortUpstream: (why) => {
      aborts.push(why);
      source.abort(why);
    },
    idleMs: 5_000,
    ...opts,
  });
  return { out: await collected, result, aborts };
}

describe("pumpOpenAIStream", () => {
  it("forwards the upstream's bytes unchanged but for a null usage blanked, then its usage with our chunk, then [DONE]", async () => {
    const { out, result } = await pump(upstream([...BODY, USAGE, DONE]));
    expect(out).toBe(`${FORWARDED.join("")}data: {"usage_from_upstream":{"prompt_tokens":5,"completion_tokens":3},"text_bytes":11}\n\n${DONE}`);
    expect(result).toMatchObject({ end: "done", dataEvents: 4, textBytes: 11, dropped: 0 });
    expect(result.usageChunk).toMatchObject({ usage: { prompt_tokens: 5, completion_tokens: 3 } });
  });

  it("gives the same bytes however the upstream chunks them, CRLF included", async () => {
    const crlf = [...BODY, USAGE, DONE].map((e) => e.replace(/\n/g, "\r\n"));
    const whole = await pump(upstream(crlf));
    const shredded = await pump(upstream(shred(crlf.join(""))));
    expect(shredded.out).toBe(whole.out);
    expect(shredded.out.startsWith(FORWARDED.map((e) => e.replace(/\n/g, "\r\n")).join(""))).toBe(true);
    expect(shredded.result.end).toBe("done");
  });

  it("drops a malformed event and forwards the rest", async () => {
    const { out, result } = await pump(upstream([BODY[0]!, "data: {not json at all\n\n", ...BODY.slice(1), USAGE, DONE]));
    expect(out.startsWith(FORWARDED.join(""))).toBe(true);
    expect(out).not.toContain("not json");
    expect(result.dropped).toBe(1);
  });

  it("blanks OpenAI's `usage: null` however the chunk spaces it: same JSON less usage, same length", async () => {
    const spaced = [
      'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}], "usage": null}\n\n',
      'data: {"usage":null,"id":"c1","choices":[{"index":0,"delta":{"content":"b"},"finish_reason":null}]}\n\n',
      'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"\\"usage\\":null"},"finish_reason":"stop"}],"usage":null}\n\n',
    ];
    const { out, result } = await pump(upstream(shred([...spaced, USAGE, DONE].join(""))));
    const forwarded = out.split("\n\n").slice(0, 3).map((e) => `${e}\n\n`);
    expect(forwarded.map((e) => e.length)).toEqual(spaced.map((e) => e.length));
    for (let i = 0; i < 3; i++) {
      const { usage, ...rest } = JSON.parse(spaced[i]!.slice(6)) as Record<string, unknown>;
      expect(usage).toBeNull();
      expect(JSON.parse(forwarded[i]!.slice(6))).toEqual(rest);
    }
    expect(JSON.parse(forwarded[2]!.slice(6)).choices[0].delta.content).toBe('"usage":null');
    expect(result).toMatchObject({ end: "done", dataEvents: 3, dropped: 0 });
  });

  it("honours a last [DONE] that lacks its blank line, though no finish_reason came", async () => {
    const { out, result } = await pump(upstream([...BODY.slice(0, 3), USAGE, "data: [DONE]"]));
    expect(out).toBe(`${FORWARDED.slice(0, 3).join("")}data: {"usage_from_upstream":{"prompt_tokens":5,"completion_tokens":3},"text_bytes":11}\n\n${DONE}`);
    expect(result).toMatchObject({ end: "done", dataEvents: 3 });
  });

  it("finishes with usage when the upstream ends after its finish_reason without [DONE]", async () => {
    const { out, result } = await pump(upstream([...BODY, USAGE]));
    expect(out.endsWith(`"text_bytes":11}\n\n${DONE}`)).toBe(true);
    expect(result.end).toBe("done");
  });

  it("finishes when the finish_reason rides on the usage chunk and no [DONE] follows", async () => {
    const last = `data: ${JSON.stringify({ id: "c1", choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: { prompt_tokens: 5, completion_tokens: 3 } })}\n\n`;
    const { out, result } = await pump(upstream([...BODY.slice(0, 3), last]));
    expect(result.end).toBe("done");
    expect(result.error).toBeUndefined();
    expect(out.endsWith(DONE)).toBe(true);
  });

  it("ends a stream that stops before its finish_reason with an in-band error and no [DONE]", async () => {
    const { out, result } = await pump(upstream(BODY.slice(0, 2)));
    expect(out).toBe(`${FORWARDED.slice(0, 2).join("")}data: {"error":"upstream stream ended before the answer finished","code":502}\n\n`);
    expect(result).toMatchObject({ end: "cut", dataEvents: 2, usageChunk: null });
  });

  it("reports a stream the upstream breaks as cut", async () => {
    const { out, result } = await pump(upstream(BODY.slice(0, 2), "error"));
    expect(result.end).toBe("cut");
    expect(result.error).toMatch(/^upstream stream failed: .*connection reset/);
    expect(out).toContain('"code":502');
    expect(out).not.toContain("[DONE]");
  });

  it("aborts an upstream that goes silent past the idle limit", async () => {
    const { out, result, aborts } = await pump(upstream(BODY.slice(0, 2), "open"), { idleMs: 100 });
    expect(aborts).toEqual(["no data for 100 ms"]);
    expect(result.end).toBe("idle");
    expect(out).toContain('"code":504');
  });

  it("aborts the upstream when the client goes away", async () => {
    const aborts: string[] = [];
    const source = upstream([...BODY, USAGE, DONE]);
    const reader = source.getReader();
    const writer = new WritableStream<Uint8Array>({
      write() {
        throw new Error("client gone");
      },
    }).getWriter();
    const result = await pumpOpenAIStream({
      reader,
      writer,
      usageEvent: () => new Uint8Array(),
      errorEvent: () => new Uint8Array(),
      abortUpstream: (why) => aborts.push(why),
      idleMs: 5_000,
    });
    expect(result.end).toBe("client_gone");
    expect(result.error).toBe("client disconnected");
    expect(aborts).toEqual(["client disconnected"]);
  });
});
