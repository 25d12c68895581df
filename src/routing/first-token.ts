import type { WireFormat } from "../catalog/types";

/**
 * A streamed answer counts as served only once its first token arrives: until then nothing has reached the
 * client, so a provider that sends headers and then nothing (or an error event) can still be failed over.
 * The few chunks read while waiting are put back in front of the rest of the body, which is piped natively.
 */
const TOKEN: Record<WireFormat, RegExp> = {
  openai: /"(content|reasoning|reasoning_content|refusal)"\s*:\s*"(?!")|"tool_calls"\s*:\s*\[|"finish_reason"\s*:\s*"|data:\s*\[DONE\]/,
  anthropic: /"type"\s*:\s*"(content_block_delta|message_stop)"|event:\s*(content_block_delta|message_stop)/,
  gemini: /"(text|functionCall|finishReason)"\s*:/,
};
const ERROR: Record<WireFormat, RegExp> = {
  openai: /data:\s*\{\s*"error"\s*:/,
  anthropic: /event:\s*error|"type"\s*:\s*"error"/,
  gemini: /data:\s*\{\s*"error"\s*:/,
};

export type FirstToken = { response: Response } | { error: string };

/** Reads `response` until its first token (or an in-band error, or its end). Aborting the fetch ends the wait. */
export async function awaitFirstToken(response: Response, format: WireFormat): Promise<FirstToken> {
  const body = response.body;
  if (!body) return { error: "provider sent an empty stream" };
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const chunks: Uint8Array[] = [];
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      // A complete answer shorter than one read: hand it on as it is.
      if (TOKEN[format].test(text)) break;
      return { error: "provider ended the stream before the first token" };
    }
    chunks.push(value);
    text += decoder.decode(value, { stream: true });
    if (ERROR[format].test(text)) {
      void reader.cancel().catch(() => {});
      return { error: `provider sent an error before the first token: ${errorMessage(text)}` };
    }
    if (TOKEN[format].test(text)) break;
  }
  return { response: new Response(stitch(chunks, reader, body), { status: response.status, statusText: response.statusText, headers: response.headers }) };
}

function errorMessage(text: string): string {
  const m = /"message"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(text);
  return m ? m[1]!.replace(/\\"/g, '"') : "unknown error";
}

function stitch(prefix: Uint8Array[], reader: ReadableStreamDefaultReader<Uint8Array>, body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const { readable, writable } = new IdentityTransformStream();
  void (async () => {
    const writer = writable.getWriter();
    try {
      for (const c of prefix) await writer.write(c);
    } catch (err) {
      // The consumer went away before reading the prefix.
      await reader.cancel(err).catch(() => {});
      return;
    }
    writer.releaseLock();
    reader.releaseLock();
    await body.pipeTo(writable).catch(() => {});
  })();
  return readable;
}
