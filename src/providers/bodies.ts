import type { WireFormat } from "../catalog/types";
import type { GatewayRequest } from "../core/request";
import type { PlannedAttempt } from "../routing/plan";
import { bodyToTranslate } from "./capabilities";

/** Builds the upstream body for one attempt from the client's request (same format or translated). */
export type BodyBuilder = (greq: GatewayRequest, planned: PlannedAttempt) => Record<string, unknown>;

const builders = new Map<string, BodyBuilder>();

export function registerBodyBuilder(ingress: WireFormat, upstream: WireFormat, b: BodyBuilder): void {
  builders.set(`${ingress}>${upstream}`, b);
}

export function bodyBuilderFor(ingress: WireFormat, upstream: WireFormat): BodyBuilder | undefined {
  return builders.get(`${ingress}>${upstream}`);
}

/** Fields that steer the gateway (OpenRouter's routing fields) and are never sent upstream. */
export const GATEWAY_ONLY_FIELDS = ["models", "provider", "route", "transforms", "plugins", "usage"] as const;

/** OpenAI in, OpenAI out: the client's body with the upstream model name, asking for usage when streamed. */
registerBodyBuilder("openai", "openai", (greq, planned) => {
  const body: Record<string, unknown> = { ...bodyToTranslate(greq, planned), model: planned.model.upstream_id };
  for (const f of GATEWAY_ONLY_FIELDS) delete body[f];
  if (greq.stream) body.stream_options = { ...(greq.body.stream_options as object | undefined), include_usage: true };
  return body;
});
