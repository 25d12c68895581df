import type { Prefill } from "../catalog/types";
import type { GatewayRequest } from "../core/request";
import { bodyBuilderFor } from "../providers/bodies";
import { tokensOfBytes, utf8Length } from "../streaming/estimate";
import { runAttempts, stoppedByClient, type AttemptsInput, type Served } from "./attempts";
import type { PlannedAttempt } from "./plan";

/**
 * Continuing a stream that died mid-answer (routing.continue_on_cut): the answer so far goes to another
 * candidate as a trailing assistant message, and its continuation is streamed on to the client after it,
 * whatever the client's format and the candidate's (both through the pivot: streaming/continuable-stream.ts).
 *
 * Who can continue is the provider's `prefill` (catalog/types.ts): Anthropic continues a trailing assistant
 * message natively (not with extended thinking on: it refuses a prefill then); Mistral and DeepSeek with
 * `"prefix": true`; a custom provider as its config says. Gemini never. The candidates are the fallbacks
 * after the one that was cut, in plan order, then that one itself (one more try), so a primary whose stream
 * broke once but can continue gets the chance when no fallback can or they all refuse the prefill.
 *
 * Never continued: an answer that had begun a tool call (its arguments may be cut mid-JSON, and no provider
 * continues a half-written call), and an answer cut during its reasoning, except on a provider that takes the
 * reasoning so far back (DeepSeek's `reasoning_content` beside `prefix`).
 */
export function prefillOf(p: PlannedAttempt): Prefill {
  return p.provider.prefill ?? "none";
}

/** What was streamed to the client before the cut: what a candidate is asked to continue. */
export interface AnswerSoFar {
  /** The answer's text. */
  text: string;
  /** Reasoning text, when the cut came before any answer text. */
  reasoning: string;
  /** A tool call had begun. */
  toolCall: boolean;
}

/** Why `planned` cannot continue `soFar`, or null when it can. */
function cannotContinue(greq: GatewayRequest, planned: PlannedAttempt, soFar: AnswerSoFar): string | null {
  const prefill = prefillOf(planned);
  if (prefill === "none") return "does not continue a trailing assistant message";
  if (planned.provider.format === "gemini" || (planned.provider.format === "anthropic" && prefill !== "assistant")) return "cannot be sent a prefill";
  if (!bodyBuilderFor(greq.ingress, planned.provider.format)) return `cannot translate ${greq.ingress} requests`;
  if (soFar.toolCall) return "a tool call was cut";
  if (soFar.text === "" && soFar.reasoning !== "" && !(prefill === "prefix" && planned.provider.id === "deepseek")) return "the cut came during reasoning";
  if (soFar.text.trim() === "" && soFar.reasoning === "") return "nothing to continue";
  return null;
}

const thinkingOn = (body: Record<string, unknown>) => ["enabled", "adaptive"].includes(String((body.thinking as { type?: unknown } | undefined)?.type));

/** The upstream body for `planned`, with the answer so far as its trailing assistant message. */
function prefilledBody(greq: GatewayRequest, planned: PlannedAttempt, soFar: AnswerSoFar): Record<string, unknown> {
  const body = bodyBuilderFor(greq.ingress, planned.provider.format)!(greq, planned);
  const messages = [...((body.messages as Record<string, unknown>[] | undefined) ?? [])];
  const last = messages.at(-1);
  // A client's own prefill and what the model produced after it are one assistant message.
  const before = last?.role === "assistant" && typeof last.content === "string" ? (messages.pop()!.content as string) : "";
  let text = before + soFar.text;
  const message: Record<string, unknown> = { role: "assistant" };
  if (planned.provider.format === "anthropic") {
    // Anthropic refuses a final assistant message that ends in whitespace; the seam restores it (continuable-stream.ts).
    text = text.trimEnd();
  } else if (prefillOf(planned) === "prefix") {
    message.prefix = true;
    if (soFar.text === "" && soFar.reasoning !== "") message.reasoning_content = soFar.reasoning;
  }
  message.content = text;
  messages.push(message);
  return { ...body, messages };
}

export interface Continuation {
  /** Candidates that might continue (each is checked against the answer so far when it is cut), in order. */
  candidates: PlannedAttempt[];
  /**
   * Asks the candidates, one try each, to continue `soFar`; the first to stream a token is returned with the
   * prompt estimate of the body it was sent, else null. `cut` is the answer that died: unless the client's own
   * limit stopped it, it counts against its provider. `fits` says whether a candidate's worst case, given the
   * body it would be sent, still fits the request's budget hold.
   */
  resume(
    soFar: AnswerSoFar,
    cut: Served,
    fits: (planned: PlannedAttempt, body: Record<string, unknown>, bytes: number) => boolean,
  ): Promise<{ served: Served; promptTokens: number } | null>;
}

/** The continuation of a request, or undefined when its policy or its plan leaves none. */
export function continuationFor(
  greq: GatewayRequest,
  served: PlannedAttempt,
  plan: PlannedAttempt[],
  attempts: Omit<AttemptsInput, "attempts" | "bodyFor" | "stream">,
): Continuation | undefined {
  if (!greq.stream) return undefined;
  const later = plan.slice(plan.indexOf(served) + 1);
  const candidates = [...later, served].filter((p) => prefillOf(p) !== "none");
  if (candidates.length === 0) return undefined;
  return {
    candidates,
    async resume(soFar, cut, fits) {
      const bodies = new Map<PlannedAttempt, string>();
      const eligible = candidates.filter((p) => {
        if (cannotContinue(greq, p, soFar) !== null) return false;
        const body = prefilledBody(greq, p, soFar);
        // Anthropic refuses a prefill when extended thinking is on.
        if (p.provider.format === "anthropic" && thinkingOn(body)) return false;
        const text = JSON.stringify(body);
        bodies.set(p, text);
        return fits(p, body, utf8Length(text));
      });
      if (eligible.length === 0) return null;
      let resumed: Served | null = null;
      // One try per candidate, each on its own: a candidate's refusal of the prefill (a 4xx, which would end an
      // ordinary attempt loop) only moves on to the next.
      for (const candidate of eligible) {
        try {
          resumed = await runAttempts({ ...attempts, attempts: [candidate], stream: true, retries: 0, bodyFor: (planned) => bodies.get(planned)! });
          break;
        } catch {
          if (attempts.clientSignal?.aborted) break;
        }
      }
      // None continued: the answer ends cut, and its record reports the failure (health.ts reportAnswer).
      if (!resumed) return null;
      // The answer as a whole succeeds; the stream that died counts against its provider all the same.
      if (!stoppedByClient(cut)) attempts.health?.report(cut.planned, { ok: false, probe: false });
      return { served: resumed, promptTokens: tokensOfBytes(utf8Length(bodies.get(resumed.planned)!)) };
    },
  };
}
