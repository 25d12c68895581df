import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { eventJson, sseEvents, uniqueTag } from "./helpers";

/*
 * The fake provider does every fault in every wire format it speaks: each format × each fault, asked of it
 * directly (no gateway), with what a client of that provider would see.
 */

interface Format {
  path(stream: boolean): string;
  headers: Record<string, string>;
  body(text: string, stream: boolean): Record<string, unknown>;
  /** Streams? (embeddings do not) */
  streams: boolean;
  /** The field its usage comes in. */
  usage: string;
  /** Is this event (a data: line's JSON) the format's in-band error? */
  isError(ev: any): boolean;
  /** Extra directives (a tool call's answer is another shape of stream). */
  extra?: string;
}

const openai: Format = {
  path: () => "/v1/chat/completions",
  headers: { authorization: "Bearer sk-probe-openai" },
  body: (text, stream) => ({ model: "gpt-4o-mini", stream, stream_options: stream ? { include_usage: true } : undefined, messages: [{ role: "user", content: text }] }),
  streams: true,
  usage: "usage",
  isError: (ev) => ev.error !== undefined,
};

const FORMATS: Record<string, Format> = {
  "OpenAI chat": openai,
  "OpenAI chat, tool call and reasoning": { ...openai, extra: "tool=get_weather;thinking=let me see" },
  "OpenAI Responses": {
    path: () => "/v1/responses",
    headers: { authorization: "Bearer sk-probe-openai" },
    body: (text, stream) => ({ model: "gpt-4o-mini", stream, input: text }),
    streams: true,
    usage: "usage",
    isError: (ev) => ev.type === "response.failed" && ev.response.error !== null,
  },
  "Anthropic messages": {
    path: () => "/v1/messages",
    headers: { "x-api-key": "sk-ant-probe", "anthropic-version": "2023-06-01" },
    body: (text, stream) => ({ model: "claude-haiku-4-5", max_tokens: 64, stream, messages: [{ role: "user", content: text }] }),
    streams: true,
    usage: "usage",
    isError: (ev) => ev.type === "error",
  },
  Gemini: {
    path: (stream) => (stream ? "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse" : "/v1beta/models/gemini-2.5-flash:generateContent"),
    headers: { "x-goog-api-key": "gemini-probe" },
    body: (text) => ({ contents: [{ role: "user", parts: [{ text }] }] }),
    streams: true,
    usage: "usageMetadata",
    isError: (ev) => ev.error !== undefined,
  },
  embeddings: {
    path: () => "/v1/embeddings",
    headers: { authorization: "Bearer sk-probe-openai" },
    body: (text) => ({ model: "text-embedding-3-small", input: text }),
    streams: false,
    usage: "usage",
    isError: () => false,
  },
};

interface Outcome {
  status: number;
  headers: Headers | null;
  text: string;
  /** How the answer ended, if not normally: the fetch or read error, or "patience" when we stopped waiting. */
  failure: string | null;
  /** Milliseconds from sending to the headers, from the headers to the first body bytes, from sending to the end. */
  toHeaders: number;
  toFirstByte: number;
  total: number;
}

/** Sends `[[directive]]` in `format` to the fake provider and reads what comes, for `patience` ms at most. */
async function probe(format: Format, directive: string, stream: boolean, patience = 5_000): Promise<Outcome> {
  const text = `Probe. [[tag=${uniqueTag("fault")};reply=one two three four;${format.extra ? `${format.extra};` : ""}${directive}]]`;
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), patience);
  const sent = Date.now();
  const out: Outcome = { status: 0, headers: null, text: "", failure: null, toHeaders: -1, toFirstByte: -1, total: -1 };
  let headersAt = 0;
  try {
    const r = await fetch(`${env.UPSTREAM_ORIGIN}${format.path(stream)}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...format.headers },
      body: JSON.stringify(format.body(text, stream)),
      signal: ctrl.signal,
    });
    headersAt = Date.now();
    out.toHeaders = headersAt - sent;
    out.status = r.status;
    out.headers = r.headers;
    const reader = r.body!.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (out.toFirstByte < 0) out.toFirstByte = Date.now() - headersAt;
      out.text += decoder.decode(value, { stream: true });
    }
  } catch (err) {
    out.failure = ctrl.signal.aborted ? "patience" : String(err);
  } finally {
    clearTimeout(timer);
    out.total = Date.now() - sent;
  }
  return out;
}

/** The JSON of a stream's data events. */
const events = (text: string) =>
  sseEvents(text)
    .filter((e) => e !== "data: [DONE]\n\n")
    .map((e) => eventJson(e.replace(/^event: .*\n/, "")));

const WAIT = 200;

describe.each(Object.entries(FORMATS))("%s", (_name, f) => {
  it("answers normally without a fault (the control)", async () => {
    for (const stream of f.streams ? [false, true] : [false]) {
      const o = await probe(f, "", stream);
      expect(o.failure).toBeNull();
      expect(o.status).toBe(200);
      if (stream) expect(events(o.text).some(f.isError)).toBe(false);
      else expect(JSON.parse(o.text)[f.usage]).toBeDefined();
    }
  });

  it("status=503 with retry_after: the error status, the header, a JSON error body", async () => {
    const o = await probe(f, "status=503;retry_after=7;error_message=busy now", false);
    expect(o.status).toBe(503);
    expect(o.headers!.get("retry-after")).toBe("7");
    expect(o.text).toContain("busy now");
  });

  it("fail_first=1: the first request of the tag fails, the next succeeds", async () => {
    const tag = uniqueTag("ff");
    const send = () => probe({ ...f, extra: [f.extra, `tag=${tag}`].filter(Boolean).join(";") }, "status=500;fail_first=1", false);
    expect((await send()).status).toBe(500);
    expect((await send()).status).toBe(200);
  });

  it("reset=1: the connection drops before any answer", async () => {
    const o = await probe(f, "reset=1", false);
    expect(o.status).toBe(0);
    expect(o.failure).not.toBeNull();
    expect(o.failure).not.toBe("patience");
  });

  it("hang=1: no answer comes", async () => {
    const o = await probe(f, "hang=1", false, WAIT);
    expect(o.failure).toBe("patience");
    expect(o.status).toBe(0);
  });

  it("first_delay: the headers wait", async () => {
    const o = await probe(f, `first_delay=${WAIT}`, false);
    expect(o.status).toBe(200);
    expect(o.toHeaders).toBeGreaterThanOrEqual(WAIT - 20);
  });

  it("body_delay: the headers come, then the body waits", async () => {
    const o = await probe(f, `body_delay=${WAIT}`, false);
    expect(o.status).toBe(200);
    expect(o.toFirstByte).toBeGreaterThanOrEqual(WAIT - 20);
    expect(JSON.parse(o.text)).toBeTypeOf("object");
  });

  it("no_usage=1: no usage in the answer", async () => {
    for (const stream of f.streams ? [false, true] : [false]) {
      const o = await probe(f, "no_usage=1", stream);
      expect(o.status).toBe(200);
      const answers = stream ? events(o.text) : [JSON.parse(o.text)];
      for (const a of answers) expect(JSON.stringify(a[f.usage] ?? a.response?.usage ?? a.message?.usage ?? {}), `stream=${stream}`).toMatch(/^(\{\}|null)$/);
    }
  });

  if (!f.streams) return;

  it("cut_after=2: the connection drops mid-stream, after what was sent", async () => {
    const control = events((await probe(f, "", true)).text).length;
    const o = await probe(f, "cut_after=2", true);
    expect(o.status).toBe(200);
    expect(o.failure).not.toBeNull();
    expect(o.failure).not.toBe("patience");
    const got = events(o.text).length;
    expect(got).toBeGreaterThanOrEqual(2);
    expect(got).toBeLessThan(control);
  });

  it("stall_after=2: the stream goes silent and stays open", async () => {
    const o = await probe(f, "stall_after=2", true, WAIT * 2);
    expect(o.status).toBe(200);
    expect(o.failure).toBe("patience");
    expect(events(o.text).length).toBeGreaterThanOrEqual(2);
  });

  it("error_event_after=2: the format's in-band error event ends the stream", async () => {
    const o = await probe(f, "error_event_after=2", true);
    expect(o.status).toBe(200);
    expect(o.failure).toBeNull();
    const evs = events(o.text);
    expect(evs.filter(f.isError)).toHaveLength(1);
    expect(f.isError(evs.at(-1))).toBe(true);
  });

  it("error_event_after with quote_auth: the error quotes the credentials sent", async () => {
    const o = await probe(f, "error_event_after=0;quote_auth=1", true);
    const secret = Object.values(f.headers)[0]!;
    expect(JSON.stringify(events(o.text).at(-1))).toContain(secret);
  });

  it("garbage_at=1: a malformed event, then the rest of the stream", async () => {
    const o = await probe(f, "garbage_at=1", true);
    expect(o.failure).toBeNull();
    expect(o.text).toContain("data: {not json at all\n\n");
    expect(() => events(o.text)).toThrow();
    expect(events(o.text.replace("data: {not json at all\n\n", "")).some(f.isError)).toBe(false);
  });

  it("token_delay: the headers come at once, the first event waits", async () => {
    const o = await probe(f, `token_delay=${WAIT}`, true);
    expect(o.failure).toBeNull();
    expect(o.toFirstByte).toBeGreaterThanOrEqual(WAIT - 20);
  });

  it("delay: the content events come apart", async () => {
    const o = await probe(f, "delay=40;reply=a b c d e", true);
    expect(o.failure).toBeNull();
    expect(o.total).toBeGreaterThanOrEqual(5 * 40 - 20);
  });
});
