import { contentText, estimatePromptTokens, estimateTokens } from "../streaming/estimate";
import type { ProviderAdapter } from "./types";

/**
 * The built-in offline provider: `mock/echo` answers with the last user message, in OpenAI's wire format,
 * streaming or not, with usage. Off in a deployment unless MOCK_PROVIDER=on.
 */
export const mockAdapter: ProviderAdapter = {
  id: "mock",
  format: "openai",
  keyVar: "MOCK_API_KEY",
  baseUrlVar: "MOCK_BASE_URL",
  defaultBaseUrl: "mock://",
  chatUrl: () => "mock://chat/completions",
  authHeaders: () => ({}),
  fetch: mockFetch,
};

interface MockBody {
  model?: string;
  messages?: { role?: string; content?: unknown }[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

const encoder = new TextEncoder();

async function mockFetch(request: Request): Promise<Response> {
  const body = (await request.json()) as MockBody;
  const messages = body.messages ?? [];
  const lastUser = [...messages].reverse().find((m) => m.role === "user");
  const reply = lastUser ? contentText(lastUser.content) : "";
  const usage = {
    prompt_tokens: estimatePromptTokens(messages),
    completion_tokens: estimateTokens(reply),
    total_tokens: 0,
  };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  const id = `chatcmpl-mock-${crypto.randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const model = body.model ?? "echo";

  if (!body.stream) {
    return Response.json({
      id,
      object: "chat.completion",
      created,
      model,
      choices: [{ index: 0, message: { role: "assistant", content: reply }, finish_reason: "stop", logprobs: null }],
      usage,
    });
  }

  const chunk = (delta: object, finish: string | null, extra: object = {}) =>
    `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
  const events: string[] = [chunk({ role: "assistant", content: "" }, null)];
  for (const piece of reply.match(/\S+\s*|\s+/g) ?? []) events.push(chunk({ content: piece }, null));
  events.push(chunk({}, "stop"));
  if (body.stream_options?.include_usage) {
    events.push(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [], usage })}\n\n`);
  }
  events.push("data: [DONE]\n\n");
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = events[i++];
      if (next === undefined) controller.close();
      else controller.enqueue(encoder.encode(next));
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream" } });
}
