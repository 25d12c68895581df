/**
 * Byte-level helpers for SSE passthrough: find event boundaries and recognise the few events the gateway
 * must act on, without decoding or parsing the events it only forwards.
 */
const LF = 10;
const CR = 13;

/** Index just past the blank line that ends the event starting at `from`, or -1 if the event is incomplete. */
export function eventEnd(buf: Uint8Array, from: number): number {
  let i = buf.indexOf(LF, from);
  while (i !== -1) {
    const next = buf[i + 1];
    if (next === LF) return i + 2;
    if (next === CR && buf[i + 2] === LF) return i + 3;
    i = buf.indexOf(LF, i + 1);
  }
  return -1;
}

/** Whether `buf[start, end)` contains `pattern` (ASCII bytes); `anchor` as for indexOfBytes. */
export function containsBytes(buf: Uint8Array, pattern: Uint8Array, start: number, end: number, anchor = 0): boolean {
  return indexOfBytes(buf, pattern, start, end, anchor) !== -1;
}

/**
 * Where `pattern` starts in `buf[start, end)`, or -1. The scan jumps (native indexOf) between occurrences
 * of the pattern's byte at `anchor`: anchored on a byte that is rare in the text rather than on a `"`,
 * which JSON is full of, it checks a few candidates per event instead of dozens.
 */
export function indexOfBytes(buf: Uint8Array, pattern: Uint8Array, start: number, end: number, anchor = 0): number {
  const a = pattern[anchor]!;
  const last = end - pattern.length;
  let i = buf.indexOf(a, start + anchor);
  outer: while (i !== -1 && i - anchor <= last) {
    const at = i - anchor;
    for (let k = 0; k < pattern.length; k++) {
      if (buf[at + k] !== pattern[k]) {
        i = buf.indexOf(a, i + 1);
        continue outer;
      }
    }
    return at;
  }
  return -1;
}

const USAGE_KEY = new TextEncoder().encode(`"usage":`);
const USAGE_ANCHOR = 4; // g
const DONE = new TextEncoder().encode("[DONE]");
const DONE_ANCHOR = 1; // D
const FINISH_KEY = new TextEncoder().encode(`"finish_reason":`);
const FINISH_ANCHOR = 7; // _

/** Whether some occurrence of `key` in `buf[start, end)` is followed, after any spaces, by `byte`. */
function keyFollowedBy(buf: Uint8Array, key: Uint8Array, anchor: number, byte: number, start: number, end: number): boolean {
  let i = indexOfBytes(buf, key, start, end, anchor);
  while (i !== -1) {
    let j = i + key.length;
    while (j < end && buf[j] === 32) j++;
    if (j < end && buf[j] === byte) return true;
    i = indexOfBytes(buf, key, j, end, anchor);
  }
  return false;
}

const NULL = new TextEncoder().encode("null");
const isBlank = (b: number | undefined) => b === 32 || b === 9;

/**
 * An OpenAI chunk's `usage` member, found in one scan: "object" for the final usage chunk; "null" for the
 * `"usage":null` OpenAI puts on every other chunk once asked for usage (as the gateway always asks), which
 * is overwritten with spaces in place together with the comma that separates it from its neighbour, so the
 * payload stays the same JSON, the same length and one line, less that member (OpenRouter's own SDK, whose
 * schema makes `usage` optional but not nullable, rejects such a chunk); null when it has neither.
 */
export function usageMember(buf: Uint8Array, start: number, end: number): "object" | "null" | null {
  let key = indexOfBytes(buf, USAGE_KEY, start, end, USAGE_ANCHOR);
  while (key !== -1) {
    let v = key + USAGE_KEY.length;
    while (v < end && isBlank(buf[v])) v++;
    if (buf[v] === 0x7b /* { */ && v < end) return "object";
    if (v + NULL.length <= end && buf[v] === NULL[0] && buf[v + 1] === NULL[1] && buf[v + 2] === NULL[2] && buf[v + 3] === NULL[3]) {
      let from = key;
      let to = v + NULL.length;
      let before = key - 1;
      while (before > start && isBlank(buf[before])) before--;
      let after = to;
      while (after < end && isBlank(buf[after])) after++;
      if (buf[before] === 0x2c /* , */) from = before;
      else if (buf[before] === 0x7b && buf[after] === 0x2c) to = after + 1;
      else if (!(buf[before] === 0x7b && buf[after] === 0x7d /* } */)) return null; // not a member of the chunk's object as we know it
      buf.fill(32, from, to);
      return "null";
    }
    key = indexOfBytes(buf, USAGE_KEY, v, end, USAGE_ANCHOR);
  }
  return null;
}

/** `data: [DONE]` (any spacing). */
export function isDoneEvent(buf: Uint8Array, start: number, end: number): boolean {
  return end - start <= 24 && containsBytes(buf, DONE, start, end, DONE_ANCHOR);
}

/** An OpenAI chunk carrying a non-null finish_reason. */
export function hasFinishReason(buf: Uint8Array, start: number, end: number): boolean {
  return keyFollowedBy(buf, FINISH_KEY, FINISH_ANCHOR, 0x22 /* " */, start, end);
}

/**
 * Whether an event is well-formed enough to forward: every line is an SSE field or comment, and a JSON
 * `data:` payload at least opens and closes as an object. Garbage never reaches the client.
 */
export function isWellFormedEvent(buf: Uint8Array, start: number, end: number): boolean {
  let e = end;
  while (e > start && (buf[e - 1] === LF || buf[e - 1] === CR)) e--;
  if (e === start) return true;
  const c = buf[start];
  // data:, event:, id:, retry:, or a ":" comment
  if (c === 0x3a) return true;
  if (c === 0x64 /* d */) {
    let j = start + 5; // after "data:"
    if (buf[start + 4] !== 0x3a) return false;
    if (buf[j] === 32) j++;
    const first = buf[j];
    if (first === 0x7b /* { */) return buf[e - 1] === 0x7d /* } */;
    return first === 0x5b /* [ */; // [DONE]
  }
  return c === 0x65 /* e */ || c === 0x69 /* i */ || c === 0x72 /* r */;
}

const ERROR_OBJECT = new TextEncoder().encode(`{"error"`);

/** A provider's in-band failure in the OpenAI format, `data: {"error": ...}`: checked at the event's start only. */
export function isErrorEvent(buf: Uint8Array, start: number, end: number): boolean {
  if (buf[start] !== 0x64 /* d */ || buf[start + 4] !== 0x3a /* : */) return false;
  let j = start + 5;
  while (j < end && buf[j] === 32) j++;
  if (j + ERROR_OBJECT.length > end) return false;
  for (let k = 0; k < ERROR_OBJECT.length; k++) if (buf[j + k] !== ERROR_OBJECT[k]) return false;
  return true;
}

/** The JSON payload of a single-line `data:` event. */
export function dataJson(buf: Uint8Array, start: number, end: number): unknown {
  const text = new TextDecoder().decode(buf.subarray(start, end));
  const line = text.split(/\r?\n/).find((l) => l.startsWith("data:"));
  if (!line) return undefined;
  return JSON.parse(line.slice(5).trim());
}

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

const QUOTE = 0x22;
const COLON = 0x3a;
const BACKSLASH = 0x5c;
/** Keys whose string values are an answer's text, in the OpenAI and Anthropic stream formats. */
const TEXT_KEYS = ["content", "reasoning", "reasoning_content", "arguments", "text", "thinking", "partial_json"].map((k) => new TextEncoder().encode(k));

function isTextKey(buf: Uint8Array, keyStart: number, keyEnd: number): boolean {
  const len = keyEnd - keyStart;
  outer: for (const k of TEXT_KEYS) {
    if (k.length !== len) continue;
    for (let i = 0; i < len; i++) if (buf[keyStart + i] !== k[i]) continue outer;
    return true;
  }
  return false;
}

/**
 * Bytes of answer text in one event (the JSON string values of TEXT_KEYS, as escaped on the wire), found
 * from its colons without parsing it: the basis of an estimate when a stream brings no usage.
 */
export function textBytes(buf: Uint8Array, start: number, end: number): number {
  let n = 0;
  let i = buf.indexOf(COLON, start);
  while (i !== -1 && i < end) {
    // `"key":"value"` (or with one space after the colon), as providers write their chunks.
    let v = i + 1;
    if (buf[v] === 32) v++;
    if (buf[i - 1] !== QUOTE || buf[v] !== QUOTE) {
      i = buf.indexOf(COLON, i + 1);
      continue;
    }
    const keyEnd = i - 1;
    const keyStart = buf.lastIndexOf(QUOTE, keyEnd - 1) + 1;
    // The value's closing quote: the first one not escaped.
    let close = buf.indexOf(QUOTE, v + 1);
    while (close !== -1 && close < end) {
      let slashes = 0;
      while (buf[close - 1 - slashes] === BACKSLASH) slashes++;
      if (slashes % 2 === 0) break;
      close = buf.indexOf(QUOTE, close + 1);
    }
    if (close === -1 || close >= end) break;
    if (keyStart > start && isTextKey(buf, keyStart, keyEnd)) n += close - v - 1;
    i = buf.indexOf(COLON, close + 1);
  }
  return n;
}
