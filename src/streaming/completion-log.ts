import type { GatewayRequest } from "../core/request";
import type { PivotDelta } from "./pivot";
import { eventJson, eventsIn } from "./sse-parse";

/**
 * The answer, kept for a team whose policy sets `data.log_prompts` (beside the prompt, in the Ledger's
 * content table): what the model said, in one shape whatever the formats: `{"content", "reasoning"?,
 * "tool_calls"?: [{"name", "arguments"}]}` as JSON. Streams are assembled from their deltas; answers that are
 * not streamed give their message whole. Nothing here runs unless the team asked for it.
 */
export class CompletionLog {
  private content = "";
  private reasoning = "";
  private readonly tools: { name: string; arguments: string }[] = [];
  private whole: unknown = undefined;
  private readonly decoder = new TextDecoder();

  /** An OpenAI-style delta (the pivot of every translated stream, and an OpenAI stream's own). */
  add(delta: PivotDelta): void {
    if (typeof delta.content === "string") this.content += delta.content;
    if (typeof delta.reasoning === "string") this.reasoning += delta.reasoning;
    for (const t of delta.tool_calls ?? []) {
      const i = typeof t.index === "number" ? t.index : this.tools.length;
      const tool = (this.tools[i] ??= { name: "", arguments: "" });
      if (t.function?.name) tool.name += t.function.name;
      if (t.function?.arguments) tool.arguments += t.function.arguments;
    }
  }

  /** Complete OpenAI-format SSE events, as a passthrough forwards them. */
  addOpenAIEvents(text: string): void {
    for (const data of payloads(text)) {
      const delta = (data as { choices?: { delta?: PivotDelta }[] }).choices?.[0]?.delta;
      if (delta) this.add(delta);
    }
  }

  /** Complete Anthropic-format SSE events, as a passthrough forwards them. */
  addAnthropicEvents(text: string): void {
    for (const data of payloads(text)) {
      const ev = data as { type?: string; index?: number; content_block?: { type?: string; name?: string }; delta?: Record<string, unknown> };
      if (ev.type === "content_block_start" && ev.content_block?.type === "tool_use") {
        this.add({ tool_calls: [{ index: ev.index ?? 0, type: "function", function: { name: ev.content_block.name ?? "", arguments: "" } }] });
      } else if (ev.type === "content_block_delta" && ev.delta) {
        const d = ev.delta;
        if (d.type === "text_delta") this.add({ content: String(d.text ?? "") });
        else if (d.type === "thinking_delta") this.add({ reasoning: String(d.thinking ?? "") });
        else if (d.type === "input_json_delta") {
          this.add({ tool_calls: [{ index: ev.index ?? 0, type: "function", function: { arguments: String(d.partial_json ?? "") } }] });
        }
      }
    }
  }

  /** An answer that was not streamed: its message (OpenAI) or content blocks (Anthropic), as the client got it. */
  setMessage(message: unknown): void {
    this.whole = message;
  }

  /** A tap for a passthrough: the bytes the client gets (whole events), in `format`. */
  tap(format: "openai" | "anthropic"): (bytes: Uint8Array) => void {
    return (bytes) => {
      const text = this.decoder.decode(bytes, { stream: true });
      if (format === "openai") this.addOpenAIEvents(text);
      else this.addAnthropicEvents(text);
    };
  }

  text(): string {
    if (this.whole !== undefined) return JSON.stringify(this.whole);
    const out: Record<string, unknown> = { content: this.content };
    if (this.reasoning) out.reasoning = this.reasoning;
    const tools = this.tools.filter(Boolean);
    if (tools.length > 0) out.tool_calls = tools;
    return JSON.stringify(out);
  }
}

/** The JSON payloads of whole SSE events; events that are not JSON are skipped (the passthrough drops them too). */
function* payloads(text: string): Generator<unknown> {
  for (const ev of eventsIn(text)) {
    const data = eventJson(ev);
    if (data !== undefined) yield data;
  }
}

/** Logged prompts are capped so one record stays far below the storage's row limit. */
const MAX_LOGGED_CHARS = 100_000;

/** The prompt as kept for a team whose policy sets `data.log_prompts`. */
export function loggedPrompt(greq: GatewayRequest): string {
  const b = greq.body;
  // An embeddings request's prompt is its input.
  if (b.messages === undefined) return capLogged(JSON.stringify(b.input ?? null));
  return capLogged(JSON.stringify(b.system === undefined ? b.messages : { system: b.system, messages: b.messages }));
}

/** A logged prompt or completion, cut at MAX_LOGGED_CHARS with a note of how much was left out. */
export function capLogged(s: string): string {
  return s.length > MAX_LOGGED_CHARS ? `${s.slice(0, MAX_LOGGED_CHARS)}…[truncated ${s.length - MAX_LOGGED_CHARS} chars]` : s;
}
