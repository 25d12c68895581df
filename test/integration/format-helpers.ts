import { SELF } from "cloudflare:test";
import { builtinCatalog } from "../../src/catalog";
import { costPicodollars, type TokenUse } from "../support/money";

/** POST /v1/messages with an x-api-key, as the Anthropic SDK sends it. */
export function messages(key: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Response> {
  return SELF.fetch("http://gateway/v1/messages", {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": key, "anthropic-version": "2023-06-01", ...headers },
    body: JSON.stringify(body),
  });
}

export { uniqueTag as tag } from "./helpers";

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

export type { TokenUse as Tokens } from "../support/money";
/** Tokens × the given price strings, in picodollars. */
export { costPicodollars as priceCost, dollars } from "../support/money";

/** Tokens × the catalog's price strings, in picodollars, with DESIGN.md's fallbacks. */
export function catalogCost(modelId: string, t: TokenUse): bigint {
  return costPicodollars(builtinCatalog.model(modelId)!.pricing, t);
}
