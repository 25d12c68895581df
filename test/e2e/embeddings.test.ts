import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtinCatalog, type ModelPricing } from "../../src/catalog";
import { fakeVector } from "../support/fake-vector";
import { costAt } from "../support/money";
import { generationRecord, startE2E, type E2EStack, type LocalGateway } from "./gateway";

/*
 * The unmodified openai SDK's embeddings.create through the gateway on workerd: a built-in embedding model
 * and a custom provider's, declared `kind: embedding` by `config push`. The SDK asks for base64 unless told
 * otherwise and decodes it itself: the gateway passes the vectors through as the provider sent them.
 */

let stack: E2EStack;
let gateway: LocalGateway;
let openai: OpenAI;
let key: string;

const SMALL = "openai/text-embedding-3-small";
const ACME_EMBED = "acme/embed-v1";
const ACME_PRICING: ModelPricing = { prompt: "0.00000003", completion: "0" };

beforeAll(async () => {
  stack = await startE2E({
    providers: ["openai", "acme"],
    config: (origin) => [
      "providers:",
      "  - id: acme",
      `    base_url: ${origin}/v1`,
      "    api_key_secret: ACME_API_KEY",
      "models:",
      `  - id: ${ACME_EMBED}`,
      "    kind: embedding",
      "    context_length: 8192",
      `    pricing: { prompt: "${ACME_PRICING.prompt}", completion: "${ACME_PRICING.completion}" }`,
    ],
  });
  ({ gateway, key } = stack);
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });
});

afterAll(() => stack?.stop());

describe("openai SDK embeddings.create", () => {
  it.each([
    { model: SMALL, pricing: builtinCatalog.model(SMALL)!.pricing, upstreamModel: "text-embedding-3-small" },
    { model: ACME_EMBED, pricing: ACME_PRICING, upstreamModel: "embed-v1" },
  ])("$model: an array input, vectors decoded by the SDK, usage priced exactly", async ({ model, pricing, upstreamModel }) => {
    const tag = `e2e-emb-${upstreamModel}`;
    const input = [`[[tag=${tag};pt=4321]] the first text`, "the second text", "the third"];
    const { data: res, response } = await openai.embeddings.create({ model, input, dimensions: 6 }).withResponse();
    expect(res.model).toBe(model);
    expect(res.data).toHaveLength(3);
    for (const [i, d] of res.data.entries()) {
      expect(d.index).toBe(i);
      // Float32 on the wire (base64), so compared at its precision.
      const want = fakeVector(JSON.stringify(input[i]), 6);
      expect(d.embedding).toHaveLength(6);
      d.embedding.forEach((v, j) => expect(v).toBeCloseTo(want[j]!, 6));
    }
    const cost = costAt(pricing, { prompt: 4321, completion: 0 });
    expect(res.usage).toEqual({ prompt_tokens: 4321, total_tokens: 4321, cost: Number(cost) });
    const g = await generationRecord(gateway, key, response.headers.get("x-request-id")!);
    expect(g).toMatchObject({ model, status: "ok", prompt_tokens: 4321, completion_tokens: 0, cost_exact: cost });
    const sent = (await (await fetch(`${stack.origin}/__log?tag=${tag}`)).json()) as { path: string; body: Record<string, unknown> }[];
    expect(sent.map((s) => [s.path, s.body.model, s.body.encoding_format])).toEqual([["/v1/embeddings", upstreamModel, "base64"]]);
  });

  it("an error is the SDK's APIError: a chat model asked for embeddings is a 400", async () => {
    const err = await openai.embeddings.create({ model: "openai/gpt-4o-mini", input: ["x"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(/is a chat model, not an embedding model/);
  });
});
