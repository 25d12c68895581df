/*
 * Token estimates for what a provider did not count: UTF-8 bytes / 4 (OpenAI's rule of thumb of about four
 * characters a token, counted in bytes so that text in any script weighs what it costs). A real tokenizer
 * would be closer, but its vocabulary tables weigh megabytes, too much for the Worker's bundle; the records
 * say which method counted (ESTIMATE_METHOD) beside `estimated`.
 */

/** How the gateway estimates tokens, as usage records name it. */
export const ESTIMATE_METHOD = "bytes/4";

/** The UTF-8 length of a string, without encoding it. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Two bytes more from U+0800 (a surrogate pair is 4 bytes for 2 code units), one more from U+0080.
    if (c >= 0x80) n += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return n;
}

/** Tokens of `bytes` bytes of text. */
export function tokensOfBytes(bytes: number): number {
  return bytes <= 0 ? 0 : Math.ceil(bytes / 4);
}

/** A token estimate for a text. */
export function estimateTokens(text: string): number {
  return tokensOfBytes(utf8Length(text));
}

/** The text of an OpenAI / Anthropic message content: a string or an array of parts. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let out = "";
  for (const part of content) {
    if (part && typeof part === "object" && typeof (part as { text?: unknown }).text === "string") {
      out += (part as { text: string }).text;
    }
  }
  return out;
}

/**
 * Text an answer carried, whatever its shape: every string in it (content, reasoning, tool arguments, a
 * tool call's input), less the fields that only label it. For the non-streamed answer of a provider that
 * reported no usage.
 */
export function answerText(v: unknown): string {
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return v.map(answerText).join("");
  if (!v || typeof v !== "object") return "";
  let out = "";
  for (const [k, x] of Object.entries(v)) if (!LABEL_KEYS.has(k)) out += typeof x === "object" && k === "input" ? JSON.stringify(x) : answerText(x);
  return out;
}

const LABEL_KEYS = new Set(["role", "type", "id", "signature", "format", "index", "refusal_type", "finish_reason", "name"]);

/** Estimated prompt tokens of a chat request from its message texts (for count_tokens without a provider). */
export function estimatePromptTokens(messages: readonly { content?: unknown }[], system?: unknown): number {
  let n = system === undefined ? 0 : estimateTokens(contentText(system)) + 4;
  for (const m of messages) n += estimateTokens(contentText(m.content)) + 4;
  return n;
}
