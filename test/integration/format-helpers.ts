import { SELF } from "cloudflare:test";
import { builtinCatalog, type ModelPricing } from "../../src/catalog";

/** POST /v1/messages with an x-api-key, as the Anthropic SDK sends it. */
export function messages(key: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Response> {
  return SELF.fetch("http://gateway/v1/messages", {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": key, "anthropic-version": "2023-06-01", ...headers },
    body: JSON.stringify(body),
  });
}

let n = 0;
export const tag = (prefix: string) => `${prefix}-${Date.now().toString(36)}${(n++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** `data:` payloads of an OpenAI-format stream ([DONE] as the string). */
export function openAIEvents(text: string): any[] {
  return text
    .split(/\n\n/)
    .filter((e) => e.startsWith("data:"))
    .map((e) => e.slice(5).trim())
    .map((d) => (d === "[DONE]" ? d : JSON.parse(d)));
}

/** Events of an Anthropic-format stream: `{event, data}`. */
export function anthropicEvents(text: string): { event: string; data: any }[] {
  return text
    .split(/\n\n/)
    .filter((e) => e.trim() !== "")
    .map((e) => {
      const event = /^event: (.*)$/m.exec(e)?.[1] ?? "";
      const data = /^data: (.*)$/m.exec(e)?.[1] ?? "null";
      return { event, data: JSON.parse(data) };
    });
}

/** Decimal dollars → integer picodollars, independently of the gateway's arithmetic. */
function pico(usd: string): bigint {
  const [whole, frac = ""] = usd.split(".");
  if (frac.length > 12) throw new Error(`price ${usd} finer than 1e-12`);
  return BigInt(whole!) * 10n ** 12n + BigInt(frac.padEnd(12, "0"));
}

export interface Tokens {
  prompt: number;
  completion: number;
  cached?: number;
  cacheWrite?: number;
  reasoning?: number;
}

/** Tokens × the catalog's price strings, in picodollars, with DESIGN.md's fallbacks. */
export function catalogCost(modelId: string, t: Tokens): bigint {
  return priceCost(builtinCatalog.model(modelId)!.pricing, t);
}

/** Tokens × the given price strings, in picodollars. */
export function priceCost(p: ModelPricing, t: Tokens): bigint {
  const prompt = pico(p.prompt);
  const completion = pico(p.completion);
  const cached = BigInt(t.cached ?? 0);
  const cw = BigInt(t.cacheWrite ?? 0);
  const reasoning = BigInt(t.reasoning ?? 0);
  return (
    (BigInt(t.prompt) - cached - cw) * prompt +
    cached * (p.input_cache_read ? pico(p.input_cache_read) : prompt) +
    cw * (p.input_cache_write ? pico(p.input_cache_write) : prompt) +
    (BigInt(t.completion) - reasoning) * completion +
    reasoning * (p.internal_reasoning ? pico(p.internal_reasoning) : completion) +
    (p.request ? pico(p.request) : 0n)
  );
}

/** "0.000012345000" for picodollars, as /v1/generation's cost_exact. */
export function dollars(p: bigint): string {
  return `${p / 10n ** 12n}.${(p % 10n ** 12n).toString().padStart(12, "0")}`;
}
