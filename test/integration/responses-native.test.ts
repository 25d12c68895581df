import { describe, expect, it } from "vitest";
import { setPolicy } from "./ledger-helpers";
import { estimatedTokens, eventually, expectedCost, generationOf, newTeamKey, responses, sentText, sseEvents, uniqueTag, upstreamLog } from "./helpers";

/*
 * POST /v1/responses to a provider that serves the Responses API itself (OpenAI here): the client's body goes
 * to <base>/responses as it came, less the gateway's routing fields, with the upstream model id; the answer
 * comes back as the provider wrote it, its usage (read from the body or the stream's response.completed)
 * billed exactly and carrying the cost. Failover to a provider of another format goes through translation.
 */

const MINI = "openai/gpt-4o-mini";
const HAIKU = "anthropic/claude-haiku-4.5";

function events(text: string): { event: string; data: any }[] {
  return sseEvents(text).map((e) => ({ event: /^event: (.*)$/m.exec(e)![1]!, data: JSON.parse(/^data: (.*)$/m.exec(e)![1]!) }));
}

describe("POST /v1/responses, passed through to a provider's own Responses API", () => {
  it("sends the body as it came (model and routing fields aside) and bills the Response's usage exactly", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("native-json");
    const input = [{ role: "user", content: [{ type: "input_text", text: `[[tag=${tag};reply=native hi;pt=120;cached=20;ct=30;reasoning=10]] hi` }] }];
    const body = {
      model: MINI,
      models: [HAIKU],
      provider: { allow_fallbacks: true },
      input,
      instructions: "be brief",
      text: { format: { type: "text" }, verbosity: "low" },
      include: ["reasoning.encrypted_content"],
      truncation: "auto",
      max_output_tokens: 500,
    };
    const r = await responses(k.key, body);
    const text = await r.text();
    expect(r.status, text).toBe(200);
    const [sent, ...more] = await upstreamLog(tag);
    expect(more).toEqual([]);
    expect(sent!.path).toBe("/v1/responses");
    const { models: _m, provider: _p, ...rest } = body;
    expect(sent!.body).toEqual({ ...rest, model: "gpt-4o-mini", store: false });

    const answer = JSON.parse(text);
    expect(answer).toMatchObject({ id: `resp_up_${tag}`, object: "response", model: MINI, status: "completed" });
    expect(answer.output[0].content[0].text).toBe("native hi");
    const cost = expectedCost(MINI, { prompt: 120, cached: 20, completion: 30, reasoning: 10 });
    expect(answer.usage).toMatchObject({ input_tokens: 120, input_tokens_details: { cached_tokens: 20 }, output_tokens: 30, output_tokens_details: { reasoning_tokens: 10 }, cost: Number(cost) });
    const g = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(g).toMatchObject({ model: MINI, status: "ok", streamed: false, estimated: false, prompt_tokens: 120, cached_tokens: 20, completion_tokens: 30, reasoning_tokens: 10, cost_exact: cost });
  });

  it("streams the provider's events through; response.completed is billed and carries the cost", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("native-stream");
    const r = await responses(k.key, { model: MINI, stream: true, input: `[[tag=${tag};reply=one two three;pt=40;cached=8;ct=3;reasoning=2]]` });
    expect(r.headers.get("content-type")).toBe("text/event-stream");
    const evs = events(await r.text());
    expect(evs.map((e) => e.event)).toEqual([
      "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
      "response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
      "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed",
    ]);
    expect(evs.map((e) => e.data.sequence_number)).toEqual(evs.map((_, i) => i));
    // The provider's own events, untouched: its ids and its model name.
    expect(evs[0]!.data.response).toMatchObject({ id: `resp_up_${tag}`, model: "gpt-4o-mini" });
    const completed = evs.at(-1)!.data;
    expect(completed.response.model).toBe(MINI);
    const [sent] = await upstreamLog(tag);
    expect(sent!.path).toBe("/v1/responses");
    const cost = expectedCost(MINI, { prompt: 40, cached: 8, completion: 3, reasoning: 2 });
    const g = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(g).toMatchObject({ status: "ok", streamed: true, estimated: false, prompt_tokens: 40, cached_tokens: 8, completion_tokens: 3, reasoning_tokens: 2, cost_exact: cost });
    expect(completed.response.usage).toMatchObject({ input_tokens: 40, output_tokens: 3, cost: Number(cost) });
  });

  it("fails over from the native provider's 503 to an Anthropic model, through translation", async () => {
    const k = await newTeamKey();
    for (const stream of [false, true]) {
      const tag = uniqueTag("native-failover");
      const r = await responses(k.key, { model: MINI, models: [HAIKU], stream, input: `[[tag=${tag};status@gpt-4o-mini=503;reply=from claude;pt=20;ct=4]]` });
      const text = await r.text();
      expect(r.status, text).toBe(200);
      const paths = (await upstreamLog(tag)).map((e) => e.path);
      expect(paths.at(0)).toBe("/v1/responses");
      expect(paths.at(-1)).toBe("/v1/messages");
      const id = r.headers.get("x-request-id")!;
      const final = stream ? events(text).at(-1)!.data.response : JSON.parse(text);
      expect(final).toMatchObject({ id: `resp_${id.replace(/^gen-/, "")}`, model: HAIKU, status: "completed" });
      const cost = expectedCost(HAIKU, { prompt: 20, completion: 4 });
      expect(final.usage.cost).toBe(Number(cost));
      const g = await eventually(() => generationOf(k.key, id));
      expect(g).toMatchObject({ model: HAIKU, status: "ok", prompt_tokens: 20, completion_tokens: 4, cost_exact: cost });
    }
  });

  it("a response.failed event before the first delta fails over, unseen by the client", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("native-failed");
    const r = await responses(k.key, { model: MINI, models: [HAIKU], stream: true, input: `[[tag=${tag};error_event_after@gpt-4o-mini=0;reply=from claude;pt=20;ct=4]]` });
    const text = await r.text();
    expect(r.status, text).toBe(200);
    expect(text).not.toContain("overloaded");
    // A failure before the first token is retried on the same model as the retry budget allows, then the next model.
    const paths = (await upstreamLog(tag)).map((e) => e.path);
    expect(new Set(paths.slice(0, -1))).toEqual(new Set(["/v1/responses"]));
    expect(paths.at(-1)).toBe("/v1/messages");
    expect(events(text).at(-1)!.data.response).toMatchObject({ model: HAIKU, status: "completed" });
    const g = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(g).toMatchObject({ model: HAIKU, status: "ok", cost_exact: expectedCost(HAIKU, { prompt: 20, completion: 4 }) });
  });

  it("a stream cut before response.completed is billed on estimates and ends in an error event", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("native-cut");
    const r = await responses(k.key, { model: MINI, stream: true, input: `[[tag=${tag};reply=alpha beta gamma delta;cut_after=2]]` });
    const evs = events(await r.text());
    expect(evs.filter((e) => e.event === "response.output_text.delta").map((e) => e.data.delta)).toEqual(["alpha ", "beta "]);
    expect(evs.at(-1)!.event).toBe("error");
    expect(evs.some((e) => e.event === "response.completed")).toBe(false);
    const [sent] = await upstreamLog(tag);
    const prompt = estimatedTokens(sentText(sent!));
    const completion = estimatedTokens("alpha beta ");
    const g = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(g).toMatchObject({ status: "cut", estimated: true, prompt_tokens: prompt, completion_tokens: completion, cost_exact: expectedCost(MINI, { prompt, completion }) });
  });

  it("the budget hold counts the passed-through body's max_output_tokens as its output cap", async () => {
    const k = await newTeamKey();
    // 100 output tokens fit in a tenth of a cent; the model's whole max_output (16,384) does not.
    await setPolicy(k.team, { budgets: [{ scope: "team", period: "day", limit_usd: "0.001" }] });
    const capped = uniqueTag("native-hold");
    const ok = await responses(k.key, { model: MINI, max_output_tokens: 100, input: `[[tag=${capped}]] hi` });
    expect(ok.status, await ok.text()).toBe(200);
    expect((await upstreamLog(capped))[0]!.body.max_output_tokens).toBe(100);
    const open = uniqueTag("native-hold");
    const refused = await responses(k.key, { model: MINI, input: `[[tag=${open}]] hi` });
    expect(refused.status, await refused.text()).toBe(402);
    expect(await upstreamLog(open)).toEqual([]);
  });
});
