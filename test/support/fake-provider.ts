import { env } from "cloudflare:test";
import { vi } from "vitest";
import { builtinCatalog } from "../../src/catalog";
import { timerNow as now } from "../../src/core/clock";
import type { Outcome } from "../../src/routing/health";
import type { HealthGate } from "../../src/routing/attempts";
import type { PlannedAttempt } from "../../src/routing/plan";
import { ManualClock } from "./manual-clock";

/**
 * The providers of a unit test of the attempt loop: `fetch` answers from a script per upstream model, in the
 * test's own hands (headers now or never, chunks one by one), and aborts as a real fetch does.
 */
export interface UpstreamCall {
  model: string;
  body: Record<string, unknown>;
  signal: AbortSignal;
  /** When it was made, on the clock the code reads. */
  at: number;
}

export type Answer = (call: UpstreamCall) => Response | Promise<Response>;

/** A stream the test writes to; erred by the call's abort as a real body is. */
export interface OpenStream {
  response: Response;
  send(text: string): void;
  end(): void;
}

const enc = new TextEncoder();

export function openStream(signal: AbortSignal): OpenStream {
  let ctrl!: ReadableStreamDefaultController<Uint8Array>;
  let closed = false;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (ctrl = c) });
  signal.addEventListener("abort", () => {
    if (!closed) ctrl.error(signal.reason);
    closed = true;
  });
  return {
    response: new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } }),
    send: (text) => ctrl.enqueue(enc.encode(text)),
    end: () => {
      closed = true;
      ctrl.close();
    },
  };
}

export const sse = (obj: unknown) => `data: ${JSON.stringify(obj)}\n\n`;
export const ROLE = sse({ choices: [{ index: 0, delta: { role: "assistant", content: "" } }] });
export const token = (text: string) => sse({ choices: [{ index: 0, delta: { content: text } }] });
export const DONE = "data: [DONE]\n\n";

export function errorResponse(status: number, message = "upstream failed", headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: { message, type: "server_error" } }), { status, headers: { "content-type": "application/json", ...headers } });
}

export const okJson = () =>
  new Response(JSON.stringify({ id: "x", choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }] }), {
    status: 200,
    headers: { "content-type": "application/json" },
  });

/** Headers never come; the call's abort rejects it. */
export const hang: Answer = ({ signal }) =>
  new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason));
  });

export class FakeProviders {
  readonly calls: UpstreamCall[] = [];
  private answers = new Map<string, Answer[]>();

  /** Answers for `upstreamModel`, one per call in order; the last repeats. */
  script(upstreamModel: string, ...answers: Answer[]): this {
    this.answers.set(upstreamModel, answers);
    return this;
  }

  callsTo(upstreamModel: string): number {
    return this.calls.filter((c) => c.model === upstreamModel).length;
  }

  install(): this {
    vi.spyOn(globalThis, "fetch").mockImplementation(async (_url, init) => {
      const body = JSON.parse(String(init?.body ?? "{}")) as Record<string, unknown>;
      const model = String(body.model);
      const signal = init!.signal!;
      const call = { model, body, signal, at: now() };
      const n = this.callsTo(model);
      this.calls.push(call);
      const list = this.answers.get(model);
      if (!list) throw new Error(`no script for ${model}`);
      if (signal.aborted) throw signal.reason;
      return list[Math.min(n, list.length - 1)]!(call);
    });
    return this;
  }
}

export function planned(id: string): PlannedAttempt {
  const model = builtinCatalog.model(id)!;
  return { model, provider: builtinCatalog.provider(model.provider)! };
}

/** A health gate that admits everything and keeps what it was told. */
export function recordingHealth(admission: "go" | "probe" = "go"): HealthGate & { reports: { model: string; outcome: Outcome }[]; released: string[] } {
  const reports: { model: string; outcome: Outcome }[] = [];
  const released: string[] = [];
  return {
    reports,
    released,
    admit: () => admission,
    report: (p, outcome) => reports.push({ model: p.model.id, outcome }),
    release: (p) => released.push(p.model.id),
  };
}

export const baseInput = { env, stream: false, bodyFor: (p: PlannedAttempt) => JSON.stringify({ model: p.model.upstream_id, messages: [] }) };

/** The time limits, primary and fallback the attempt-loop tests share. */
export const LIMITS = { headers: 1_000, first_token: 2_000, idle: 3_000, total: 10_000 };
export const PRIMARY = "openai/gpt-4o-mini";
export const FALLBACK = "groq/llama-3.1-8b-instant";

/** A clock the test moves and scripted providers, both installed; `uninstall` puts the runtime's back. */
export function scriptedWorld(): { clock: ManualClock; fake: FakeProviders; uninstall(): void } {
  const clock = new ManualClock().install();
  const fake = new FakeProviders().install();
  return {
    clock,
    fake,
    uninstall: () => {
      clock.uninstall();
      vi.restoreAllMocks();
    },
  };
}
