/**
 * The fake provider's one fault loop: every directive that makes a request go wrong (upstream-directives.ts)
 * is acted on here, the same way for every wire format. An encoder (upstream-formats.ts) only says what its
 * answer is: a JSON body, or a stream's events and the format's in-band error event.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { lastRole, type Directives } from "./upstream-directives";

type Body = Record<string, unknown>;

/** A stream as a format sends it; the faults count `content` events only. */
export interface StreamReply {
  /** Events sent first, whatever the faults (Responses' response.created and friends). */
  head?: string[];
  content: string[];
  /** Events after the content: the finish, the usage, the end marker. */
  tail: string[];
  /** The format's in-band error event, sent in place of content event `at`. */
  errorEvent(message: string, at: number): string;
}

/** An encoder's answer: a JSON body (with its status when the format itself refuses the request), or a stream. */
export type Reply = { status?: number; json: Body } | { stream: StreamReply };

/** An error body in the format's own shape. */
export type ErrorBody = (status: number, message: string, code?: string) => Body;

export interface RequestContext {
  /** The request's credentials as they came (authorization, x-api-key or x-goog-api-key). */
  credentials: string | null;
  /** This request's number among the tag's requests (scoped fail_first: among the model's). */
  nth: number;
  body: Body;
  errorBody: ErrorBody;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The message an error quotes: the credentials with quote_auth, else the scripted or default one. */
function errorMessage(d: Directives, ctx: RequestContext, dflt: string): string {
  return d.quote_auth ? `Incorrect API key provided: ${ctx.credentials}` : (d.error_message ?? dflt);
}

function sendJson(res: ServerResponse, status: number, body: Body, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

/**
 * The faults that come before any answer: reset, hang, first_delay, reject_prefill, status (fail_first,
 * retry_after). True when the request is dealt with (answered, dropped or left hanging).
 */
export async function faultBeforeAnswer(req: IncomingMessage, res: ServerResponse, d: Directives, ctx: RequestContext): Promise<boolean> {
  if (d.reset) {
    req.socket.destroy();
    return true;
  }
  if (d.hang) return true;
  if (d.first_delay) await sleep(Number(d.first_delay));
  if (d.reject_prefill && lastRole(ctx.body) === "assistant") {
    sendJson(res, 400, ctx.errorBody(400, "the last message must be the user's: prefill is not supported", "invalid_request_error"));
    return true;
  }
  if (d.status !== undefined && (d.fail_first === undefined || ctx.nth <= Number(d.fail_first))) {
    const status = Number(d.status);
    sendJson(res, status, ctx.errorBody(status, errorMessage(d, ctx, `injected ${status}`), d.error_code), d.retry_after !== undefined ? { "retry-after": d.retry_after } : {});
    return true;
  }
  return false;
}

/** Sends an encoder's answer, with the faults the directives ask of it. */
export async function sendReply(res: ServerResponse, d: Directives, reply: Reply, ctx: RequestContext): Promise<void> {
  if ("json" in reply) {
    res.writeHead(reply.status ?? 200, { "content-type": "application/json" });
    if (d.body_delay && reply.status === undefined) {
      res.flushHeaders();
      await sleep(Number(d.body_delay));
    }
    res.end(JSON.stringify(reply.json));
    return;
  }
  const { head = [], content, tail, errorEvent } = reply.stream;
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  res.flushHeaders();
  if (d.token_delay) await sleep(Number(d.token_delay));
  for (const h of head) res.write(h);
  const delay = Number(d.delay ?? 0);
  const after = (k: string, i: number) => d[k] !== undefined && i >= Number(d[k]);
  let written: Promise<void> = Promise.resolve();
  for (let i = 0; i < content.length; i++) {
    if (after("cut_after", i)) {
      // Let what was written reach the wire first: a provider that dies mid-answer has sent what it sent.
      await written;
      res.socket?.destroy();
      return;
    }
    if (after("stall_after", i)) return; // left open, silent
    if (after("error_event_after", i)) {
      res.end(errorEvent(errorMessage(d, ctx, "The server is overloaded"), i));
      return;
    }
    if (d.garbage_at !== undefined && i === Number(d.garbage_at)) res.write("data: {not json at all\n\n");
    if (res.destroyed) return; // the client went away: stop, as a provider would
    written = new Promise<void>((r) => res.write(content[i], () => r()));
    if (delay) await sleep(delay);
  }
  for (const t of tail) res.write(t);
  res.end();
}
