import type { CatalogModel, WireFormat } from "../catalog/types";
import { GatewayError } from "../core/errors";
import type { GatewayRequest } from "../core/request";
import type { Plan, PlannedAttempt } from "../routing/plan";
import type { Json } from "../formats/translate-common";

/*
 * Can the chosen model honour the request? Following OpenRouter:
 * - Capabilities (tools, image input, JSON mode, audio input to a provider that takes none): an endpoint
 *   that lacks one is left out of the plan; when none is left the request fails with 400
 *   unsupported_parameter. With `provider.require_parameters: false` the parameter is dropped instead.
 * - Other parameters the provider's format cannot express (e.g. `seed` or `logit_bias` to Anthropic,
 *   `top_k` to OpenAI) are dropped in translation, as OpenRouter does by default; with
 *   `provider.require_parameters: true` the endpoint is left out instead (and 400 when none is left).
 */

const SOFT_PARAMS: Record<string, readonly string[]> = {
  "openai>anthropic": ["frequency_penalty", "presence_penalty", "seed", "logit_bias", "logprobs", "top_logprobs", "prediction", "web_search_options"],
  "openai>gemini": ["logit_bias", "logprobs", "top_logprobs", "prediction", "web_search_options"],
  "anthropic>openai": ["top_k", "mcp_servers", "container"],
  "anthropic>gemini": ["mcp_servers", "container"],
};

type Needs = { tools: boolean; serverTools: boolean; images: boolean; audio: boolean; json: boolean; reasoning: boolean };

function partsOf(content: unknown): Json[] {
  return Array.isArray(content) ? (content as Json[]) : [];
}

function hasPart(greq: GatewayRequest, types: readonly string[]): boolean {
  for (const m of greq.messages) {
    for (const p of partsOf(m.content)) {
      if (types.includes(p?.type as string)) return true;
      if (p?.type === "tool_result" && partsOf(p.content).some((q) => types.includes(q?.type as string))) return true;
    }
  }
  return false;
}

function needsOf(greq: GatewayRequest, scanImages: boolean): Needs {
  const b = greq.body;
  const tools = Array.isArray(b.tools) && b.tools.length > 0;
  const anthropic = greq.ingress === "anthropic";
  return {
    tools,
    serverTools: anthropic && tools && (b.tools as Json[]).some((t) => t.type !== undefined && t.type !== "custom"),
    images: scanImages && hasPart(greq, anthropic ? ["image"] : ["image_url"]),
    audio: !anthropic && scanImages && hasPart(greq, ["input_audio"]),
    json: anthropic
      ? Boolean((b.output_config as Json | undefined)?.format)
      : ["json_object", "json_schema"].includes((b.response_format as Json | undefined)?.type as string),
    reasoning: anthropic
      ? ["enabled", "adaptive"].includes((b.thinking as Json | undefined)?.type as string)
      : b.reasoning !== undefined || b.reasoning_effort !== undefined,
  };
}

/** Parameters the model cannot honour: `hard` are capabilities, `soft` are parameters its format lacks. */
function unsupportedParameters(greq: GatewayRequest, model: CatalogModel, format: WireFormat, needs?: Needs): { hard: string[]; soft: string[] } {
  const n = needs ?? needsOf(greq, true);
  const c = model.capabilities;
  const hard: string[] = [];
  if (n.tools && !c.tools) hard.push("tools");
  if (n.serverTools && format !== "anthropic") hard.push("server tools");
  if (n.images && !c.vision) hard.push("image input");
  if (n.audio && format === "anthropic") hard.push("audio input");
  if (n.json && !c.json_mode) hard.push(greq.ingress === "anthropic" ? "output_config.format" : "response_format");
  const soft = (SOFT_PARAMS[`${greq.ingress}>${format}`] ?? []).filter((p) => greq.body[p] !== undefined && greq.body[p] !== null);
  if (n.reasoning && !c.reasoning) soft.push(greq.ingress === "anthropic" ? "thinking" : "reasoning");
  return { hard, soft };
}

/**
 * Leaves out of the plan the attempts whose model cannot honour the request (see above); throws 400 when
 * that leaves none. Requests that ask for no capability cost a few property reads.
 */
export function excludeUnsupported(plan: Plan, greq: GatewayRequest): Plan {
  const require = (greq.provider as { require_parameters?: boolean } | undefined)?.require_parameters;
  if (require === false || plan.attempts.length === 0) return plan;
  const scan = plan.attempts.some((a) => !a.model.capabilities.vision || a.provider.format === "anthropic");
  const needs = needsOf(greq, scan);
  if (require !== true && !needs.tools && !needs.images && !needs.audio && !needs.json) return plan;
  const kept: PlannedAttempt[] = [];
  const reasons: string[] = [];
  for (const a of plan.attempts) {
    const { hard, soft } = unsupportedParameters(greq, a.model, a.provider.format, needs);
    const missing = require === true ? [...hard, ...soft] : hard;
    if (missing.length === 0) kept.push(a);
    else {
      const reason = `cannot honour ${missing.join(", ")}`;
      plan.excluded.push({ model: a.model.id, provider: a.provider.id, reason });
      reasons.push(`${a.model.id}: ${reason}`);
    }
  }
  if (kept.length === 0) {
    const hint = require === true ? "" : "; set provider.require_parameters to false to drop unsupported parameters";
    throw new GatewayError("unsupported_parameter", `no model of this request can honour its parameters (${reasons.join("; ")})${hint}`, {
      details: { excluded: plan.excluded },
    });
  }
  return { ...plan, attempts: kept };
}

/** With `provider.require_parameters: false`: the request body without what the model cannot honour. */
export function dropUnsupported(greq: GatewayRequest, model: CatalogModel, format: WireFormat): Json {
  const { hard } = unsupportedParameters(greq, model, format);
  if (hard.length === 0) return greq.body;
  const body: Json = { ...greq.body };
  if (hard.includes("tools") || hard.includes("server tools")) {
    const keep = hard.includes("tools") ? [] : (body.tools as Json[]).filter((t) => t.type === undefined || t.type === "custom");
    if (keep.length > 0) body.tools = keep;
    else for (const k of ["tools", "tool_choice", "parallel_tool_calls"]) delete body[k];
  }
  if (hard.includes("response_format")) delete body.response_format;
  if (hard.includes("output_config.format")) body.output_config = { ...(body.output_config as Json), format: undefined };
  const dropTypes = [...(hard.includes("image input") ? ["image", "image_url"] : []), ...(hard.includes("audio input") ? ["input_audio"] : [])];
  if (dropTypes.length > 0) {
    body.messages = (body.messages as Json[]).map((m) =>
      Array.isArray(m.content) ? { ...m, content: (m.content as Json[]).filter((p) => !dropTypes.includes(p?.type as string)) } : m,
    );
  }
  return body;
}

/** The body a builder translates: the client's, less what must be dropped when the request allows it. */
export function bodyToTranslate(greq: GatewayRequest, planned: PlannedAttempt): Json {
  const require = (greq.provider as { require_parameters?: boolean } | undefined)?.require_parameters;
  return require === false ? dropUnsupported(greq, planned.model, planned.provider.format) : greq.body;
}
