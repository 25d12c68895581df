import type { WireFormat } from "../catalog/types";
import { echoedFields, outputItems, responseStatus, responsesUsage } from "../formats/translate-responses";
import type { Json, OpenAIMessage } from "../formats/translate-common";
import { ResponsesStreamEncoder, type ResponseShell } from "./encode-responses";
import { billPivot, DECODE, READ_PIVOT } from "./respond-translated";
import { readAnswerJson, registerResponder, servedHeaders, type ResponderContext } from "./responder";
import { translatedStreamResponse, type StreamEnding } from "./translated-stream";

/*
 * Responses-format clients, from a provider of any format: the request went upstream as a chat body
 * (http/responses.ts), the answer is read into the chat pivot as for any translated pair and written as a
 * Response, its usage carrying the cost the request was billed.
 */

function shell(ctx: ResponderContext): ResponseShell {
  const { planned } = ctx.served;
  return {
    id: `resp_${ctx.requestId.replace(/^gen-/, "")}`,
    object: "response",
    created_at: Math.floor(ctx.event.created_at / 1000),
    model: planned.model.id,
    provider: planned.provider.name,
    error: null,
    incomplete_details: null,
    ...echoedFields(ctx.greq.responsesBody ?? {}),
  };
}

function toResponsesClient(upstream: WireFormat) {
  return async (ctx: ResponderContext): Promise<Response> => {
    const base = shell(ctx);
    if (ctx.greq.stream) {
      const encoder = new ResponsesStreamEncoder(base, ctx.requestId);
      let ending: StreamEnding | undefined;
      return translatedStreamResponse(ctx, {
        decode: DECODE[upstream],
        encode: (chunks, state, end) => {
          ending = end;
          return encoder.encode(chunks, state, end);
        },
        errorEvent: (message, status) => encoder.failed(message, status, ending!),
      });
    }
    const pivot = READ_PIVOT[upstream](await readAnswerJson(ctx));
    const { tokens, cost } = billPivot(ctx, pivot);
    const message = pivot.choice.message as OpenAIMessage | undefined;
    const body: Json = {
      ...base,
      ...responseStatus(pivot.choice.finish_reason as string | null),
      output: outputItems(message, ctx.requestId),
      usage: responsesUsage(tokens, cost),
    };
    ctx.completion?.setMessage(message ?? null);
    void ctx.finish("ok");
    return new Response(JSON.stringify(body), { status: 200, headers: servedHeaders(ctx, "application/json") });
  };
}

registerResponder("responses", "openai", toResponsesClient("openai"));
registerResponder("responses", "anthropic", toResponsesClient("anthropic"));
registerResponder("responses", "gemini", toResponsesClient("gemini"));
