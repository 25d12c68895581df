import type { CatalogModel } from "../catalog/types";
import type { GatewayRequest } from "../core/request";
import type { PlannedAttempt } from "../routing/plan";
import { GATEWAY_ONLY_FIELDS } from "./bodies";
import { adapterFor } from "./registry";

/*
 * A Responses request planned on a provider that serves the Responses API itself (OpenAI, OpenRouter, a
 * custom provider configured with `responses: true`) is passed through: the client's body goes to
 * `<base>/responses` with the upstream model id, and its answer comes back as the provider wrote it, with
 * `cost` in its usage. Every other provider is sent the chat body the request was translated to.
 */

/** Whether this attempt passes the client's Responses body through to the provider's own Responses API. */
export function servesResponsesNatively(greq: GatewayRequest, planned: PlannedAttempt): boolean {
  return greq.respondAs === "responses" && greq.responsesBody !== undefined && adapterFor(planned.provider)?.responses !== undefined;
}

/** The client's Responses body as sent upstream: the upstream model id, no routing fields, never stored. */
export function nativeResponsesBody(greq: GatewayRequest, planned: PlannedAttempt): Record<string, unknown> {
  const body: Record<string, unknown> = { ...greq.responsesBody!, model: planned.model.upstream_id, store: false };
  for (const f of GATEWAY_ONLY_FIELDS) delete body[f];
  return body;
}

/** The output tokens a Responses body lets its provider produce: `max_output_tokens` (reasoning within it), else max_output. */
export function responsesOutputCap(body: Record<string, unknown>, model: CatalogModel): number {
  const cap = body.max_output_tokens;
  return typeof cap === "number" && Number.isFinite(cap) && cap > 0 ? Math.ceil(cap) : model.max_output;
}
