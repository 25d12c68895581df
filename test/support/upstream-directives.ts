/**
 * What a request to the fake provider asks for: a `[[key=value;...]]` directive anywhere in its last user
 * message (its `contents` for Gemini, its `input` for Responses and embeddings). Every directive means the
 * same in every wire format; upstream-faults.ts is the one place that acts on the faults, and each format's
 * encoder in upstream-formats.ts only says what its answer looks like.
 *
 * The answer:
 *   tag=NAME          groups requests for the log and for `fail_first`
 *   reply=TEXT        the answer (default "Hello from upstream")
 *   reply_repeat=N    the answer is TEXT repeated N times, streamed in one content event
 *   pt,ct,cached,cw,reasoning=N   usage the upstream reports (defaults 11, 7, 0, 0, 0; embeddings: pt 5 an input)
 *   tool, args, thinking, searches   tool calls and reasoning: see upstream-formats.ts
 *   no_usage=1        omit usage (stream and non-stream)
 *   no_done=1         OpenAI chat stream: end without [DONE]
 *   (a request whose last message is the assistant's and a prefix of `reply` is answered the rest of `reply`)
 *
 * Faults, before the answer (every path):
 *   reset=1           destroy the connection before any response
 *   hang=1            accept and never answer
 *   first_delay=MS    wait before the response headers
 *   status=N          answer with this HTTP status and an error body in the format's own shape
 *   fail_first=N      with status: only the first N requests of the tag fail, the rest succeed
 *   retry_after=S     Retry-After header on an error
 *   error_message=T   error body message;  error_code=C   its code (OpenAI shape)
 *   quote_auth=1      error messages (status=N, error_event_after=N) quote the credentials the request came with,
 *                     as some OpenAI-compatible servers do ("Incorrect API key provided: Bearer sk-...")
 *   reject_prefill=1  answer 400 to a request whose last message is the assistant's (a prefill)
 *
 * Faults in the answer (every format; a stream's content events are the format's own: OpenAI's role chunk and
 * deltas, Anthropic's every event from message_start on, Gemini's chunks, Responses' text deltas):
 *   body_delay=MS     non-stream: send the headers at once, then wait before the body
 *   token_delay=MS    stream: send the headers at once, then wait before the first event
 *   delay=MS          stream: pause between content events
 *   cut_after=N       stream: destroy the connection after N content events
 *   stall_after=N     stream: stop sending after N content events (connection left open)
 *   error_event_after=N  stream: after N content events, the format's in-band error event, then the end
 *   garbage_at=N      stream: send a malformed event before content event N
 *   faults_first=N    cut_after / stall_after / error_event_after apply to the first N requests of the tag only
 *
 *   KEY@MODEL=V       KEY=V only for requests whose upstream model (Gemini: in the path) is MODEL (e.g. status@gpt-4.1=503), so
 *                     one message can script a primary and its fallback differently; a scoped fail_first or
 *                     faults_first counts that model's requests of the tag
 */

export type Directives = Record<string, string>;
type Body = Record<string, unknown>;

export const num = (d: Directives, k: string, dflt: number) => (d[k] !== undefined ? Number(d[k]) : dflt);

/** The answer a request scripts (reply, repeated reply_repeat times). */
export function replyText(d: Directives): string {
  const reply = d.reply ?? "Hello from upstream";
  return d.reply_repeat ? reply.repeat(Number(d.reply_repeat)) : reply;
}

/** Text cut into words, each with the whitespace after it. */
export const words = (s: string) => s.match(/\S+\s*|\s+/g) ?? [];

/** The answer's content pieces: a word each, or the whole answer in one piece when reply_repeat is set. */
export function replyPieces(d: Directives): string[] {
  const reply = replyText(d);
  return d.reply_repeat ? [reply] : words(reply);
}

const textOf = (content: unknown) =>
  typeof content === "string" ? content : Array.isArray(content) ? content.map((p) => (p as { text?: string }).text ?? "").join("") : "";

/** The role of a chat request's last message (Gemini's contents count as messages). */
export function lastRole(body: Body): string | undefined {
  return ((body.messages ?? body.contents) as { role?: string }[] | undefined)?.at(-1)?.role;
}

/**
 * A model asked to continue (the last message is the assistant's) continues its scripted answer: if the reply
 * begins with the prefill, it answers the rest (Anthropic's prefill arrives without trailing whitespace, so the
 * rest starts with it, as a real model's continuation does).
 */
export function continueScripted(body: Body, d: Directives): void {
  const last = (body.messages as { role?: string; content?: unknown }[] | undefined)?.at(-1);
  if (last?.role !== "assistant" || d.reply === undefined) return;
  const text = textOf(last.content);
  if (text !== "" && d.reply.startsWith(text)) d.reply = d.reply.slice(text.length);
}

/** Every directive in a request, scoped ones (`KEY@MODEL`) as they are. */
export function directives(body: Body): Directives {
  const messages =
    (body.messages as { role: string; content: unknown }[] | undefined) ??
    (body.contents as { role: string; parts: unknown }[] | undefined)?.map((c) => ({ role: c.role, content: c.parts })) ??
    [];
  const texts = messages.map((m) => textOf(m.content));
  // An embeddings request: its input's texts; a Responses request: its input's messages too.
  if (messages.length === 0 && body.input !== undefined) {
    for (const item of [body.input].flat()) {
      if (typeof item === "string") texts.push(item);
      else if (item && typeof item === "object") texts.push(textOf((item as { content?: unknown }).content));
    }
  }
  const m = /\[\[(.*?)\]\]/.exec(texts.join("\n"));
  const out: Directives = {};
  if (!m) return out;
  for (const part of m[1]!.split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/** The directives that apply to a request for `model`: unscoped ones, overridden by `KEY@model` ones. */
export function forModel(d: Directives, model: string): Directives {
  const out: Directives = {};
  for (const [k, v] of Object.entries(d)) if (!k.includes("@")) out[k] = v;
  for (const [k, v] of Object.entries(d)) {
    const at = k.indexOf("@");
    if (at > 0 && k.slice(at + 1) === model) out[k.slice(0, at)] = v;
  }
  return out;
}
