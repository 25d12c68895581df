import type { GatewayRequest } from "../http/request";
import { bodyBuilderFor } from "../providers/bodies";
import { runAttempts, stoppedByClient, type AttemptsInput, type Served } from "./attempts";
import type { PlannedAttempt } from "./plan";

/**
 * Continuing a stream that died mid-answer (routing.continue_on_cut): the answer so far goes to a fallback
 * as an assistant prefill, and the fallback's continuation is streamed on to the client after it.
 *
 * Only providers that continue a trailing assistant message rather than starting a new turn qualify, and
 * only those that speak the client's format (the continuation is passed through, not translated): the
 * OpenAI-compatible APIs of Mistral and DeepSeek, which take the prefill as `{"role": "assistant",
 * "content": ..., "prefix": true}`. A fallback that rejects the prefill ends the request with the original
 * failure, not with the fallback's rejection.
 */
const PREFILL_PROVIDERS = new Set(["mistral", "deepseek"]);

export function acceptsPrefill(p: PlannedAttempt): boolean {
  return p.provider.format === "openai" && PREFILL_PROVIDERS.has(p.provider.id);
}

export interface Continuation {
  /** Fallbacks that could continue, in plan order. */
  candidates: PlannedAttempt[];
  /**
   * Asks the fallbacks to continue `soFar`; the first to stream a token is returned, else null. `cut` is the
   * answer that died: unless the client's own limit stopped it, it counts against its provider.
   */
  resume(soFar: string, cut: Served): Promise<Served | null>;
}

/** The continuation of a request, or undefined when its policy or its plan leaves none. */
export function continuationFor(
  greq: GatewayRequest,
  served: PlannedAttempt,
  plan: PlannedAttempt[],
  attempts: Omit<AttemptsInput, "attempts" | "bodyFor" | "stream">,
): Continuation | undefined {
  if (!greq.stream || greq.ingress !== "openai") return undefined;
  const candidates = plan.slice(plan.indexOf(served) + 1).filter(acceptsPrefill);
  if (candidates.length === 0) return undefined;
  return {
    candidates,
    async resume(soFar, cut) {
      const messages = [...(greq.body.messages as unknown[]), { role: "assistant", content: soFar, prefix: true }];
      const prefilled: GatewayRequest = { ...greq, body: { ...greq.body, messages } };
      try {
        const resumed = await runAttempts({
          ...attempts,
          attempts: candidates,
          stream: true,
          // The answer already spent its retries; one try per fallback.
          retries: 0,
          bodyFor: (planned) => JSON.stringify(bodyBuilderFor("openai", planned.provider.format)!(prefilled, planned)),
        });
        // The answer as a whole succeeds; the stream that died still counts against its provider.
        if (!stoppedByClient(cut)) attempts.health?.report(served, { ok: false, probe: false });
        return resumed;
      } catch {
        return null;
      }
    },
  };
}
