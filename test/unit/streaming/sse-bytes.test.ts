import { describe, expect, it } from "vitest";
import {
  concatBytes,
  dataJson,
  eventEnd,
  hasFinishReason,
  indexOfBytes,
  isDoneEvent,
  isWellFormedEvent,
  usageMember,
} from "../../../src/streaming/sse-bytes";

const enc = (s: string) => new TextEncoder().encode(s);
/** Runs a byte-level function over a whole buffer. */
const whole = <T>(f: (b: Uint8Array, s: number, e: number) => T, s: string): T => {
  const b = enc(s);
  return f(b, 0, b.length);
};

/** Splits a buffer into its events with eventEnd, as the passthrough does; returns the events and the rest. */
function events(s: string): { events: string[]; rest: string } {
  const b = enc(s);
  const out: string[] = [];
  let pos = 0;
  let end: number;
  while ((end = eventEnd(b, pos)) !== -1) {
    out.push(new TextDecoder().decode(b.subarray(pos, end)));
    pos = end;
  }
  return { events: out, rest: new TextDecoder().decode(b.subarray(pos)) };
}

describe("eventEnd", () => {
  it("ends events at a blank line with LF line endings", () => {
    expect(events("data: a\n\ndata: b\n\n")).toEqual({ events: ["data: a\n\n", "data: b\n\n"], rest: "" });
    expect(eventEnd(enc("data: a\n\ndata: b\n\n"), 0)).toBe(9);
    expect(eventEnd(enc("data: a\n\ndata: b\n\n"), 9)).toBe(18);
  });

  it("ends events at a blank line with CRLF line endings", () => {
    expect(events("data: a\r\n\r\ndata: b\r\n\r\n")).toEqual({ events: ["data: a\r\n\r\n", "data: b\r\n\r\n"], rest: "" });
    expect(eventEnd(enc("data: a\r\n\r\n"), 0)).toBe(11);
  });

  it("handles mixed line endings and multi-line events", () => {
    expect(events("data: a\n\r\nevent: x\ndata: y\n\n: ping\r\n\n")).toEqual({
      events: ["data: a\n\r\n", "event: x\ndata: y\n\n", ": ping\r\n\n"],
      rest: "",
    });
  });

  it("reports an event cut anywhere inside its terminator as incomplete", () => {
    for (const partial of ["data: a", "data: a\n", "data: a\r", "data: a\r\n", "data: a\r\n\r", "data: a\n\r"]) {
      expect(eventEnd(enc(partial), 0), JSON.stringify(partial)).toBe(-1);
    }
    expect(events("data: a\n\ndata: b\r\n")).toEqual({ events: ["data: a\n\n"], rest: "data: b\r\n" });
  });

  it("finds the same events however the bytes are chunked", () => {
    const stream = 'data: {"a":1}\n\ndata: {"b":2}\r\n\r\n: keepalive\n\ndata: [DONE]\n\n';
    const expected = events(stream).events;
    for (let cut = 1; cut < stream.length; cut++) {
      const first = events(stream.slice(0, cut));
      const second = events(first.rest + stream.slice(cut));
      expect([...first.events, ...second.events], `cut at ${cut}`).toEqual(expected);
      expect(second.rest).toBe("");
    }
  });
});

describe("usageMember: which usage a chunk has", () => {
  it("is \"object\" for a usage object, with or without a space", () => {
    expect(whole(usageMember, 'data: {"choices":[],"usage":{"prompt_tokens":1}}\n\n')).toBe("object");
    expect(whole(usageMember, 'data: {"choices": [], "usage": {"prompt_tokens": 1}}\n\n')).toBe("object");
    expect(whole(usageMember, 'data: {"usage":   {}}\n\n')).toBe("object");
  });

  it("is \"null\" for usage null, with or without a space, and null for no usage", () => {
    expect(whole(usageMember, 'data: {"choices":[{"delta":{"content":"x"}}],"usage":null}\n\n')).toBe("null");
    expect(whole(usageMember, 'data: {"choices": [], "usage": null}\n\n')).toBe("null");
    expect(whole(usageMember, 'data: {"choices":[]}\n\n')).toBeNull();
  });

  it("is not fooled by the text \"usage\" inside a content string", () => {
    const chunk = `data: ${JSON.stringify({ choices: [{ delta: { content: '{"usage":{"x":1}}' } }], usage: null })}\n\n`;
    expect(whole(usageMember, chunk)).toBe("null");
  });

  it("looks only inside [start, end)", () => {
    const b = enc('data: {"usage":null}\n\ndata: {"usage":{"prompt_tokens":1}}\n\n');
    const first = eventEnd(b, 0);
    expect(usageMember(b, 0, first)).toBe("null");
    expect(usageMember(b, first, b.length)).toBe("object");
  });
});

describe("isDoneEvent", () => {
  it("recognises [DONE] with any spacing and line ending", () => {
    expect(whole(isDoneEvent, "data: [DONE]\n\n")).toBe(true);
    expect(whole(isDoneEvent, "data:[DONE]\r\n\r\n")).toBe(true);
  });

  it("is false for a content chunk that mentions [DONE]", () => {
    expect(whole(isDoneEvent, `data: ${JSON.stringify({ choices: [{ delta: { content: "[DONE]" } }] })}\n\n`)).toBe(false);
    expect(whole(isDoneEvent, 'data: {"a":1}\n\n')).toBe(false);
  });
});

describe("hasFinishReason", () => {
  it("is true only for a non-null finish_reason", () => {
    expect(whole(hasFinishReason, 'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\n')).toBe(true);
    expect(whole(hasFinishReason, 'data: {"choices": [{"delta": {}, "finish_reason": "length"}]}\n\n')).toBe(true);
    expect(whole(hasFinishReason, 'data: {"choices":[{"delta":{"content":"x"},"finish_reason":null}]}\n\n')).toBe(false);
  });

  it("looks past a null finish_reason and accepts any spacing", () => {
    expect(whole(hasFinishReason, 'data: {"choices":[{"finish_reason":null},{"finish_reason":   "stop"}]}\n\n')).toBe(true);
    expect(whole(hasFinishReason, 'data: {"note":"finish_reason","choices":[{"finish_reason":null}]}\n\n')).toBe(false);
  });
});

describe("isWellFormedEvent", () => {
  it.each([
    'data: {"a":1}\n\n',
    'data:{"a":1}\r\n\r\n',
    "data: [DONE]\n\n",
    ": keepalive\n\n",
    'event: message\ndata: {"a":1}\n\n',
    "id: 7\n\n",
    "retry: 1000\n\n",
    "\n\n",
  ])("accepts %j", (s) => {
    expect(whole(isWellFormedEvent, s)).toBe(true);
  });

  it.each(["data: {not json at all\n\n", "data: 42\n\n", "garbage\n\n", "data {}\n\n", '{"a":1}\n\n'])("rejects %j", (s) => {
    expect(whole(isWellFormedEvent, s)).toBe(false);
  });
});

describe("dataJson, indexOfBytes, concatBytes", () => {
  it("parses the data line of an event", () => {
    expect(whole((b, s, e) => (dataJson(b, s, e) as { a: number }).a === 1, 'data: {"a":1}\r\n\r\n')).toBe(true);
    const b = enc('event: x\ndata: {"usage":{"prompt_tokens":3}}\n\n');
    expect(dataJson(b, 0, b.length)).toEqual({ usage: { prompt_tokens: 3 } });
  });

  it("finds patterns at the edges of the range and not past it", () => {
    const b = enc("abcabc");
    expect(indexOfBytes(b, enc("abc"), 0, 6)).toBe(0);
    expect(indexOfBytes(b, enc("abc"), 1, 6)).toBe(3);
    expect(indexOfBytes(b, enc("abc"), 1, 5)).toBe(-1);
    expect(indexOfBytes(b, enc("cab"), 0, 6)).toBe(2);
  });

  it("finds the same places whichever byte of the pattern it scans for", () => {
    const b = enc('x"a_b""a_b"a_');
    for (const anchor of [0, 1, 2, 3, 4]) {
      expect(indexOfBytes(b, enc('"a_b"'), 0, b.length, anchor)).toBe(1);
      expect(indexOfBytes(b, enc('"a_b"'), 2, b.length, anchor)).toBe(6);
      expect(indexOfBytes(b, enc('"a_b"'), 7, b.length, anchor)).toBe(-1);
      expect(indexOfBytes(b, enc('"a_b"'), 0, 10, anchor)).toBe(1);
      expect(indexOfBytes(b, enc('"a_b"'), 2, 10, anchor)).toBe(-1);
    }
  });

  it("concatenates", () => {
    expect(new TextDecoder().decode(concatBytes(enc("ab"), enc("cd")))).toBe("abcd");
  });
});

describe("usageMember: blanking usage null", () => {
  /** The event after blanking, and whether it was changed. */
  const blank = (s: string) => {
    const b = enc(s);
    const changed = usageMember(b, 0, b.length) === "null";
    return { out: new TextDecoder().decode(b), changed };
  };

  it("blanks a last, first or only usage member with its comma: the same JSON less usage, the same length", () => {
    for (const s of [
      'data: {"id":"c","choices":[],"usage":null}\n\n',
      'data: {"id":"c","choices":[] , "usage":  null }\n\n',
      'data: {"usage":null,"id":"c","choices":[]}\n\n',
      'data: { "usage": null , "id":"c","choices":[]}\r\n\r\n',
      'data: {"id":"c","usage":null,"choices":[]}\n\n',
    ]) {
      const { out, changed } = blank(s);
      expect(changed, s).toBe(true);
      expect(out.length).toBe(s.length);
      expect(out).not.toContain("usage");
      expect(JSON.parse(out.slice(6))).toEqual({ id: "c", choices: [] });
    }
    expect(blank('data: {"usage":null}\n\n')).toEqual({ out: "data: {            }\n\n", changed: true });
  });

  it("leaves a usage object, an event without usage, and usage:null quoted inside a string as they are", () => {
    for (const s of [
      'data: {"id":"c","choices":[],"usage":{"prompt_tokens":1}}\n\n',
      'data: {"id":"c","choices":[{"delta":{"content":"hi"}}]}\n\n',
      'data: {"id":"c","choices":[{"delta":{"content":"\\"usage\\":null"}}]}\n\n',
      "data: [DONE]\n\n",
    ]) {
      expect(blank(s), s).toEqual({ out: s, changed: false });
    }
  });

  it("blanks only inside [start, end)", () => {
    const s = 'data: {"a":1,"usage":null}\n\ndata: {"b":2,"usage":null}\n\n';
    const b = enc(s);
    const first = eventEnd(b, 0);
    expect(usageMember(b, first, b.length)).toBe("null");
    const out = new TextDecoder().decode(b);
    expect(out.slice(0, first)).toBe(s.slice(0, first));
    expect(JSON.parse(out.slice(first + 6))).toEqual({ b: 2 });
  });
});
