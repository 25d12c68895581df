import { usdNumber, ZERO_TOKENS, type TokenCounts } from "../ledger/cost";
import type { UsageStatus } from "../ledger/event";
import { tokensFromResponsesUsage } from "../formats/usage-formats";
import { responsesUsage } from "../formats/translate-responses";
import { TIMEOUTS } from "../core/time-limits";
import { FORWARD, pumpEvents, type ClientPipeOptions } from "./client-pipe";
import { answerText, estimateTokens, tokensOfBytes } from "./estimate";
import type { StreamEnd } from "./pump-openai";
import { readAnswerJson, servedHeaders, type ResponderContext } from "./responder";
import { dataJson, indexOfBytes } from "./sse-bytes";

/*
 * A Responses request passed through to a provider's own Responses API (providers/responses-native.ts): the
 * answer goes back as the provider wrote it. Billing reads the usage of the final Response (the body, or the
 * stream's `response.completed` / `response.incomplete` event), and only that event is rewritten: its usage
 * gains `cost` and its model is the catalog's id.
 */

const encoder = new TextEncoder();
const STREAM_STATUS: Record<StreamEnd, UsageStatus> = { done: "ok", cut: "cut", idle: "cut", client_gone: "cancelled" };

function estimated(ctx: ResponderContext, completion: number): TokenCounts {
  return { ...ZERO_TOKENS, prompt_tokens: ctx.greq.estimatePromptTokens(), completion_tokens: completion };
}

/** The Response's usage as the client sees it: the provider's, plus `cost` in dollars. */
function usageWithCost(upstream: unknown, tokens: TokenCounts, cost: bigint): Record<string, unknown> {
  return upstream && typeof upstream === "object" ? { ...(upstream as Record<string, unknown>), cost: usdNumber(cost) } : responsesUsage(tokens, cost);
}

async function nativeJson(ctx: ResponderContext): Promise<Response> {
  const json = await readAnswerJson(ctx);
  const reported = tokensFromResponsesUsage(json.usage);
  const tokens = reported ?? estimated(ctx, estimateTokens(answerText(json.output)));
  const cost = ctx.bill(tokens, reported === null);
  json.usage = usageWithCost(json.usage, tokens, cost);
  json.model = ctx.served.planned.model.id;
  ctx.completion?.setMessage((json.output as never) ?? null);
  void ctx.finish("ok");
  return new Response(JSON.stringify(json), { status: 200, headers: servedHeaders(ctx, "application/json") });
}

/** The stream's last Response, which carries its usage. */
const FINAL_EVENTS = ["response.completed", "response.incomplete"].map((t) => [encoder.encode(`event: ${t}`), encoder.encode(`"type":"${t}"`)] as const);
const FAILED_EVENTS = ["response.failed", "error"].map((t) => [encoder.encode(`event: ${t}\n`), encoder.encode(`"type":"${t}"`)] as const);
const DELTA = encoder.encode(`"delta":"`);

/** Whether the event at `buf[start, end)` is one of `kinds`: by its `event:` line, or by the data's type. */
function isEvent(buf: Uint8Array, start: number, end: number, kinds: typeof FINAL_EVENTS): boolean {
  for (const [line, type] of kinds) {
    let named = true;
    for (let k = 0; k < line.length && named; k++) if (buf[start + k] !== line[k]) named = false;
    if (named || indexOfBytes(buf, type, start, Math.min(end, start + 200), 1) !== -1) return true;
  }
  return false;
}

/** Bytes of a delta event's text (`"delta":"..."`, as escaped on the wire): the basis of an estimate. */
function deltaBytes(buf: Uint8Array, start: number, end: number): number {
  const at = indexOfBytes(buf, DELTA, start, end, 1);
  if (at === -1) return 0;
  const from = at + DELTA.length;
  let close = buf.indexOf(0x22, from);
  while (close !== -1 && close < end) {
    let slashes = 0;
    while (buf[close - 1 - slashes] === 0x5c) slashes++;
    if (slashes % 2 === 0) return close - from;
    close = buf.indexOf(0x22, close + 1);
  }
  return 0;
}

interface PumpResult {
  end: StreamEnd;
  /** The final Response (of `response.completed` or `response.incomplete`), parsed. */
  final: Record<string, unknown> | null;
  textBytes: number;
  events: number;
  error?: string;
}

interface FinalEventData {
  type: string;
  response: Record<string, unknown>;
}

interface PumpOptions extends ClientPipeOptions {
  /** The final event, rewritten, given its data and the text bytes streamed before it. */
  finalEvent(data: FinalEventData, textBytes: number): Uint8Array;
  /** The error event that ends a stream that did not finish. */
  errorEvent(message: string, sequence: number): Uint8Array;
  scrub(text: string): string;
}

/** Forwards a Responses SSE stream event by event; only the final event is parsed and rewritten. */
async function pumpResponsesStream(o: PumpOptions): Promise<PumpResult> {
  const result: PumpResult = { end: "cut", final: null, textBytes: 0, events: 0 };
  await pumpEvents(o, {
    event(buf, pos, end) {
      const final = isEvent(buf, pos, end, FINAL_EVENTS);
      if (!final && !isEvent(buf, pos, end, FAILED_EVENTS)) {
        result.events++;
        result.textBytes += deltaBytes(buf, pos, end);
        return FORWARD;
      }
      if (!final) {
        // The provider's own words may quote the credentials it was sent: the client gets them scrubbed.
        const text = o.scrub(new TextDecoder().decode(buf.subarray(pos, end)));
        result.error = `the provider sent an error: ${text.slice(0, 300)}`;
        return { send: encoder.encode(text), stop: "now" };
      }
      try {
        const data = dataJson(buf, pos, end) as FinalEventData;
        result.final = data.response;
        const send = o.finalEvent(data, result.textBytes);
        if (result.end !== "client_gone") result.end = "done";
        return { send, stop: "now" };
      } catch {
        result.error = "the provider's final event is not JSON";
        return { send: null, stop: "now" };
      }
    },
    end({ stopped, failure }) {
      if (stopped) return null;
      if (failure) {
        result.error = failure.message;
        result.end = failure.idle ? "idle" : "cut";
      }
      result.error ??= "upstream stream ended before the answer finished";
      return o.errorEvent(result.error, result.events);
    },
    gone() {
      result.end = "client_gone";
      result.error = "client disconnected";
    },
  });
  return result;
}

async function nativeStream(ctx: ResponderContext): Promise<Response> {
  const served = ctx.served;
  const { event } = ctx;
  const { readable, writable } = new IdentityTransformStream();
  const writer = writable.getWriter();
  let billed = false;
  const bill = (response: Record<string, unknown> | null, textBytes: number): bigint => {
    billed = true;
    const reported = tokensFromResponsesUsage(response?.usage);
    return ctx.bill(reported ?? estimated(ctx, tokensOfBytes(textBytes)), reported === null);
  };
  const work = (async () => {
    const result = await pumpResponsesStream({
      reader: served.chunks,
      writer,
      idleMs: served.timeouts?.idle ?? TIMEOUTS.idle,
      abortUpstream: (why) => served.stop(why),
      onFirstChunk: () => (event.ttfb_ms = Date.now() - event.created_at),
      onClientSlow: () => (served.clientSlow = true),
      finalEvent: (data, textBytes) => {
        const cost = bill(data.response, textBytes);
        const response = { ...data.response, model: served.planned.model.id, usage: usageWithCost(data.response.usage, event, cost) };
        return encoder.encode(`event: ${data.type}\ndata: ${JSON.stringify({ ...data, response })}\n\n`);
      },
      errorEvent: (message, sequence) =>
        encoder.encode(`event: error\ndata: ${JSON.stringify({ type: "error", code: "upstream_error", message: served.scrub(message), param: null, sequence_number: sequence })}\n\n`),
      scrub: served.scrub,
    });
    served.release();
    if (!billed) bill(result.final, result.textBytes);
    event.cancelled = result.end === "client_gone";
    if (result.end !== "done") event.attempts.at(-1)!.error = result.error ?? "client disconnected";
    await ctx.finish(STREAM_STATUS[result.end]);
  })();
  ctx.waitUntil(work);
  return new Response(readable, { status: 200, headers: servedHeaders(ctx, "text/event-stream") });
}

/** Answers a Responses request its provider served natively: streamed or not, as the provider wrote it. */
export function respondResponsesNative(ctx: ResponderContext): Promise<Response> {
  return ctx.greq.stream ? nativeStream(ctx) : nativeJson(ctx);
}
