/** A token estimate for text a provider did not count (≈ 4 characters a token, as OpenAI's rule of thumb). */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
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

/** Estimated prompt tokens of a chat request: its message texts plus a few tokens of framing each. */
export function estimatePromptTokens(messages: readonly { content?: unknown }[], system?: unknown): number {
  let n = system === undefined ? 0 : estimateTokens(contentText(system)) + 4;
  for (const m of messages) n += estimateTokens(contentText(m.content)) + 4;
  return n;
}
