import type { Context } from "hono";
import type { Catalog, CatalogModel, ProviderInfo } from "../catalog";
import { cachedCatalog, loadCatalog } from "../catalog/load";
import type { WireFormat } from "../catalog/types";
import type { HonoEnv } from "./app";

/*
 * GET /v1/models: the catalog in OpenRouter's shape. It needs no key (as OpenRouter's): the catalog holds
 * prices and policies, nothing about teams, and no provider's base URL or secret appears in it.
 */

/** Parameters each wire format can carry, before the model's capabilities narrow them. */
const FORMAT_PARAMETERS: Record<WireFormat, string[]> = {
  openai: ["max_tokens", "temperature", "top_p", "stop", "frequency_penalty", "presence_penalty", "seed", "logit_bias", "logprobs", "top_logprobs"],
  anthropic: ["max_tokens", "temperature", "top_p", "top_k", "stop"],
  gemini: ["max_tokens", "temperature", "top_p", "top_k", "stop", "seed", "frequency_penalty", "presence_penalty"],
};

function supportedParameters(model: CatalogModel, format: WireFormat): string[] {
  const c = model.capabilities;
  return [
    ...FORMAT_PARAMETERS[format],
    ...(c.tools ? ["tools", "tool_choice", "parallel_tool_calls"] : []),
    ...(c.json_mode ? ["response_format", "structured_outputs"] : []),
    ...(c.reasoning ? ["reasoning", "include_reasoning"] : []),
  ];
}

/** What an embedding model's request can carry (POST /v1/embeddings). */
const EMBEDDING_PARAMETERS = ["encoding_format", "dimensions", "user"];

function modelEntry(m: CatalogModel, p: ProviderInfo) {
  const inputs = m.capabilities.vision ? ["text", "image"] : ["text"];
  // Embedding models are marked as OpenRouter marks them: output modality "embeddings".
  const outputs = m.kind === "embedding" ? ["embeddings"] : ["text"];
  const supported = m.kind === "embedding" ? EMBEDDING_PARAMETERS : supportedParameters(m, p.format);
  return {
    id: m.id,
    canonical_slug: m.id,
    name: m.name,
    // The catalog records no release dates: this is the day its prices were taken.
    created: Math.floor(Date.parse(m.prices_as_of) / 1000),
    description: `${m.name}, served by ${p.name}.`,
    context_length: m.context_length,
    architecture: { modality: `${inputs.join("+")}->${outputs.join("+")}`, input_modalities: inputs, output_modalities: outputs, tokenizer: "Other", instruct_type: null },
    pricing: m.pricing,
    top_provider: { context_length: m.context_length, max_completion_tokens: m.max_output, is_moderated: false },
    per_request_limits: null,
    supported_parameters: supported,
    prices_as_of: m.prices_as_of,
    endpoints: [
      {
        name: `${p.name} | ${m.upstream_id}`,
        provider: p.id,
        provider_name: p.name,
        context_length: m.context_length,
        max_completion_tokens: m.max_output,
        pricing: m.pricing,
        supported_parameters: supported,
        data_policy: { ...p.data_policy },
        price_page: p.price_page,
        // How this endpoint continues a cut answer (docs/routing.md section 6).
        prefill: p.prefill ?? "none",
      },
    ],
  };
}

const rendered = new WeakMap<Catalog, string>();

function render(catalog: Catalog, required: string[]): string {
  const data = [];
  for (const m of catalog.models) {
    const p = catalog.provider(m.provider);
    if (!p) continue;
    const entry = modelEntry(m, p);
    if (required.every((r) => entry.supported_parameters.includes(r))) data.push(entry);
  }
  return JSON.stringify({ data });
}

/** GET /v1/models[?supported_parameters=tools,reasoning] */
export async function listModels(c: Context<HonoEnv>): Promise<Response> {
  const catalog = cachedCatalog() ?? (await loadCatalog(c.env));
  const required = (c.req.query("supported_parameters") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  let body = required.length === 0 ? rendered.get(catalog) : undefined;
  if (body === undefined) {
    body = render(catalog, required);
    if (required.length === 0) rendered.set(catalog, body);
  }
  return new Response(body, { headers: { "content-type": "application/json", "cache-control": "public, max-age=60" } });
}
