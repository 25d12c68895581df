import type { Json, OpenAIToolCall, ReasoningDetail } from "../formats/translate-common";
import { functionCallItem, itemId, messageItem, reasoningItem, responseStatus, responsesUsage } from "../formats/translate-responses";
import { newToolCallId } from "../formats/translate-common";
import type { PivotChunk, PivotDelta, StreamState } from "./pivot";
import type { StreamEnding } from "./translated-stream";

/** The Response an answer streams into, before its output: id, model, status in_progress, echoed fields. */
export type ResponseShell = Json & { id: string };

interface OpenText {
  kind: "reasoning" | "message";
  index: number;
  id: string;
  text: string;
  /** Reasoning: a summary part was opened (some reasoning is only a signature, or redacted). */
  partOpen: boolean;
  details: ReasoningDetail[];
  /** Reasoning: where the text of the thinking block the next signature closes starts. */
  blockStart: number;
}

interface OpenCall {
  index: number;
  id: string;
  call: OpenAIToolCall & { function: { name: string; arguments: string } };
}

/**
 * Pivot deltas → the Responses event sequence the OpenAI SDK expects: response.created and .in_progress, then
 * per output item output_item.added, its parts and deltas, .done events, output_item.done, and last
 * response.completed (or .incomplete) with usage and cost. Every event carries the next sequence_number; item
 * ids and output indexes are consistent from added to done. Text and reasoning items close when another item
 * starts; function calls stay open until the answer ends (parallel calls may interleave their arguments).
 */
export class ResponsesStreamEncoder {
  private seq = 0;
  private items = 0;
  private readonly output: Json[] = [];
  private open: OpenText | null = null;
  private readonly calls = new Map<number, OpenCall>();

  constructor(
    private readonly shell: ResponseShell,
    private readonly requestId: string,
  ) {}

  private event(type: string, fields: Json): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, ...fields, sequence_number: this.seq++ })}\n\n`;
  }

  private response(fields: Json): Json {
    return { ...this.shell, ...fields };
  }

  private *closeText(): Generator<string> {
    const o = this.open;
    if (!o) return;
    this.open = null;
    const { index: output_index, id: item_id, text } = o;
    let item: Json;
    if (o.kind === "message") {
      yield this.event("response.output_text.done", { item_id, output_index, content_index: 0, text, logprobs: [] });
      yield this.event("response.content_part.done", { item_id, output_index, content_index: 0, part: { type: "output_text", text, annotations: [], logprobs: [] } });
      item = messageItem(item_id, text, "completed");
    } else {
      if (o.partOpen) {
        yield this.event("response.reasoning_summary_text.done", { item_id, output_index, summary_index: 0, text });
        yield this.event("response.reasoning_summary_part.done", { item_id, output_index, summary_index: 0, part: { type: "summary_text", text } });
      }
      item = reasoningItem(item_id, text, o.details);
    }
    this.output[output_index] = item;
    yield this.event("response.output_item.done", { output_index, item });
  }

  private *openText(kind: OpenText["kind"]): Generator<string> {
    if (this.open?.kind === kind) return;
    yield* this.closeText();
    const index = this.items++;
    const id = itemId(kind === "message" ? "msg" : "rs", this.requestId, index);
    this.open = { kind, index, id, text: "", partOpen: false, details: [], blockStart: 0 };
    const item = kind === "message" ? { type: "message", id, status: "in_progress", role: "assistant", content: [] } : { type: "reasoning", id, summary: [] };
    this.output[index] = item;
    yield this.event("response.output_item.added", { output_index: index, item });
    if (kind === "message") {
      yield this.event("response.content_part.added", { item_id: id, output_index: index, content_index: 0, part: { type: "output_text", text: "", annotations: [], logprobs: [] } });
    }
  }

  private *reasoning(delta: PivotDelta): Generator<string> {
    yield* this.openText("reasoning");
    const o = this.open!;
    if (delta.reasoning) {
      if (!o.partOpen) {
        o.partOpen = true;
        yield this.event("response.reasoning_summary_part.added", { item_id: o.id, output_index: o.index, summary_index: 0, part: { type: "summary_text", text: "" } });
      }
      o.text += delta.reasoning;
      yield this.event("response.reasoning_summary_text.delta", { item_id: o.id, output_index: o.index, summary_index: 0, delta: delta.reasoning });
    }
    for (const d of delta.reasoning_details ?? []) {
      // A streamed signature closes the thinking block whose text came as `reasoning` deltas before it.
      const detail = d.type === "reasoning.text" && !d.text ? { ...d, text: o.text.slice(o.blockStart) } : d;
      if (d.type === "reasoning.text") o.blockStart = o.text.length;
      o.details.push(detail);
    }
  }

  private *toolCalls(calls: OpenAIToolCall[]): Generator<string> {
    for (const tc of calls) {
      const key = tc.index ?? 0;
      let c = this.calls.get(key);
      if (!c) {
        yield* this.closeText();
        const index = this.items++;
        const id = itemId("fc", this.requestId, index);
        c = { index, id, call: { id: tc.id ?? newToolCallId(), function: { name: tc.function?.name ?? "", arguments: "" } } };
        this.calls.set(key, c);
        const item = functionCallItem(id, c.call, "in_progress");
        this.output[index] = item;
        yield this.event("response.output_item.added", { output_index: index, item });
      } else if (tc.function?.name && !c.call.function.name) c.call.function.name = tc.function.name;
      const args = tc.function?.arguments;
      if (args) {
        c.call.function.arguments += args;
        yield this.event("response.function_call_arguments.delta", { item_id: c.id, output_index: c.index, delta: args });
      }
    }
  }

  private *closeCalls(): Generator<string> {
    for (const c of [...this.calls.values()].sort((a, b) => a.index - b.index)) {
      const item = functionCallItem(c.id, c.call, "completed");
      yield this.event("response.function_call_arguments.done", { item_id: c.id, output_index: c.index, name: c.call.function.name, arguments: c.call.function.arguments });
      this.output[c.index] = item;
      yield this.event("response.output_item.done", { output_index: c.index, item });
    }
    this.calls.clear();
  }

  async *encode(chunks: AsyncIterable<PivotChunk>, state: StreamState, ending: StreamEnding): AsyncGenerator<string> {
    const created = this.response({ status: "in_progress", output: [], usage: null });
    yield this.event("response.created", { response: created });
    yield this.event("response.in_progress", { response: created });
    for await (const { delta } of chunks) {
      if (delta.reasoning || delta.reasoning_details?.length) yield* this.reasoning(delta);
      if (delta.content) {
        yield* this.openText("message");
        const o = this.open!;
        o.text += delta.content;
        yield this.event("response.output_text.delta", { item_id: o.id, output_index: o.index, content_index: 0, delta: delta.content, logprobs: [] });
      }
      if (delta.tool_calls?.length) yield* this.toolCalls(delta.tool_calls);
    }
    if (!state.finished || state.error) return;
    yield* this.closeText();
    yield* this.closeCalls();
    const { tokens, cost } = ending.bill();
    const { status, incomplete_details } = responseStatus(state.finishReason);
    const type = status === "incomplete" ? "response.incomplete" : "response.completed";
    yield this.event(type, { response: this.response({ status, incomplete_details, output: this.output, usage: responsesUsage(tokens, cost) }) });
  }

  /**
   * Ends a stream that did not finish: an `error` event, then response.failed with what was produced and the
   * usage billed for it.
   */
  failed(message: string, status: number, ending: StreamEnding): string {
    const code = status === 504 || status === 408 ? "upstream_timeout" : "upstream_error";
    const { tokens, cost } = ending.bill();
    return (
      this.event("error", { code, message, param: null }) +
      this.event("response.failed", {
        response: this.response({ status: "failed", error: { code, message }, output: this.output.filter(Boolean), usage: responsesUsage(tokens, cost) }),
      })
    );
  }
}
