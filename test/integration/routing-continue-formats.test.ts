import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { CONFIG_KV_KEY, type StoredConfig } from "../../src/catalog/config-schema";
import { eventually, generationOf, sumDollars, uniqueTag, userMsg } from "./helpers";
import { anthropicEvents, messages, openAIEvents } from "./format-helpers";
import { calls, closeCircuits, teamWithPolicy, timedChat } from "./routing-helpers";

/*
 * routing.continue_on_cut across formats: for an OpenAI- and an Anthropic-format client, a stream cut or stalled
 * mid-answer continues on a fallback of each kind that can continue (a custom OpenAI-compatible provider with
 * `prefill: assistant`, DeepSeek with `prefix`, Anthropic natively). The client sees one coherent answer that
 * ends normally; the record's segments sum to what was billed.
 */
const PRIMARY = "openai/gpt-4.1-mini";
const P = "gpt-4.1-mini";
const FALLBACKS = {
  assistant: { id: "acme/cont-llama", upstream: "cont-llama", prefill: (soFar: string) => ({ role: "assistant", content: soFar }) },
  prefix: { id: "deepseek/deepseek-flash", upstream: "deepseek-flash", prefill: (soFar: string) => ({ role: "assistant", content: soFar, prefix: true }) },
  anthropic: { id: "anthropic/claude-haiku-4.5", upstream: "claude-haiku-4-5-20251001", prefill: (soFar: string) => ({ role: "assistant", content: soFar.trimEnd() }) },
} as const;

beforeAll(async () => {
  const stored: StoredConfig = {
    version: 1,
    pushed_at: "2026-12-01",
    document: {
      providers: [{ id: "acme", base_url: `${env.UPSTREAM_ORIGIN}/v1`, api_key_secret: "ACME_API_KEY", prefill: "assistant" }],
      models: [{ id: "acme/cont-llama", context_length: 131072, pricing: { prompt: "0.0000006", completion: "0.0000008" } }],
    },
  };
  await env.KV.put(CONFIG_KV_KEY, JSON.stringify(stored));
});

/** The client's text, how many role chunks / message_starts it saw, and whether the stream ended normally. */
function readOpenAI(text: string) {
  const events = openAIEvents(text);
  const data = events.filter((e) => e !== "[DONE]");
  return {
    content: data.map((d) => d.choices?.[0]?.delta?.content ?? "").join(""),
    starts: data.filter((d) => d.choices?.[0]?.delta?.role !== undefined).length,
    ok: events.at(-1) === "[DONE]" && !data.some((d) => d.error),
    cost: [...data].reverse().find((d: any) => d.usage)?.usage?.cost as number | undefined,
    last: data.at(-1),
  };
}

function readAnthropic(text: string) {
  const events = anthropicEvents(text);
  return {
    content: events.map((e) => (e.data?.delta?.type === "text_delta" ? e.data.delta.text : "")).join(""),
    starts: events.filter((e) => e.event === "message_start").length,
    blocks: events.filter((e) => e.event === "content_block_start").length,
    ok: events.at(-1)?.event === "message_stop" && !events.some((e) => e.event === "error"),
    cost: events.find((e) => e.event === "message_delta")?.data?.usage?.cost as number | undefined,
    last: events.at(-1),
  };
}

async function send(client: "openai" | "anthropic", key: string, models: string[], directives: string) {
  if (client === "openai") {
    const { r, text } = await timedChat(key, { models, stream: true, messages: userMsg(`Count. ${directives}`) });
    return { r, read: readOpenAI(text) };
  }
  const r = await messages(key, { models, max_tokens: 200, stream: true, messages: [{ role: "user", content: `Count. ${directives}` }] });
  return { r, read: readAnthropic(await r.text()) };
}

describe.each(["openai", "anthropic"] as const)("%s client: a cut answer continues", (client) => {
  for (const [kind, fb] of Object.entries(FALLBACKS)) {
    for (const fault of ["cut", "stall"] as const) {
      it(`${fault} → ${kind} fallback: one answer, ended normally, the seam clean, segments billed`, async () => {
        await closeCircuits({ provider: "openai", model: PRIMARY }, { provider: fb.id.split("/")[0]!, model: fb.id });
        const k = await teamWithPolicy({ routing: { continue_on_cut: true, timeouts_ms: { idle: 300 } } });
        const tag = uniqueTag(`cf-${client}-${kind}-${fault}`);
        const F = fb.upstream;
        // The fallback restarts with the space the client already has: it must not be doubled.
        const d = `[[tag=${tag};${fault}_after@${P}=3;reply@${P}=one two three four five;reply@${F}= three four five;pt@${F}=40;ct@${F}=3]]`;
        const { r, read } = await send(client, k.key, [PRIMARY, fb.id], d);
        expect(r.status).toBe(200);
        expect(read.content).toBe("one two three four five");
        expect(read.starts).toBe(1);
        expect(read.ok).toBe(true);
        if ("blocks" in read) expect(read.blocks).toBe(1);

        const c = await calls(tag);
        expect(c.map((x) => x.model)).toEqual([P, F]);
        expect(c[1]!.messages.at(-1)).toEqual(fb.prefill("one two "));

        const gen = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
        expect(gen).toMatchObject({ status: "ok", model: fb.id, estimated: true });
        expect(gen.attempts.map((a: any) => [a.model, a.ok])).toEqual([[PRIMARY, false], [fb.id, true]]);
        expect(gen.segments.map((s: any) => [s.model, s.estimated])).toEqual([[PRIMARY, true], [fb.id, false]]);
        expect(gen.segments[1]).toMatchObject({ prompt_tokens: 40, completion_tokens: 3 });
        expect(gen.segments[0].completion_tokens).toBe(2); // "one two ": 8 bytes
        expect(sumDollars(gen.segments.map((s: any) => s.cost_exact))).toBe(gen.cost_exact);
        expect(gen.prompt_tokens).toBe(gen.segments[0].prompt_tokens + 40);
        expect(read.cost).toBeCloseTo(Number(gen.cost_exact), 12);
      });
    }
  }
});

describe("what is never continued, and the last resorts", () => {
  const DS = FALLBACKS.prefix;
  const HAIKU = FALLBACKS.anthropic;

  it("a tool call cut mid-arguments: not continued; the in-band error ends the answer", async () => {
    const k = await teamWithPolicy({ routing: { continue_on_cut: true } });
    const tag = uniqueTag("cf-tool");
    // role, "ok", the call's start, its first third of arguments: then the connection drops.
    const { r, read } = await send("openai", k.key, [PRIMARY, DS.id, HAIKU.id], `[[tag=${tag};tool@${P}=get_weather;reply@${P}=ok;cut_after@${P}=4]]`);
    expect(r.status).toBe(200);
    expect(read.ok).toBe(false);
    expect(read.last).toMatchObject({ error: { code: 502 }, choices: [{ finish_reason: "error" }] });
    expect((await calls(tag)).map((x) => x.model)).toEqual([P]);
    const gen = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(gen.status).toBe("cut");
  });

  it("a cut during reasoning: only a provider that takes the reasoning back continues it (DeepSeek), Anthropic is not asked", async () => {
    const k = await teamWithPolicy({ routing: { continue_on_cut: true } });
    const tag = uniqueTag("cf-think");
    const d = `thinking@${P}=let me think it over;reply@${P}=four;cut_after@${P}=3`;
    const refused = await send("openai", k.key, [PRIMARY, HAIKU.id], `[[tag=${tag};${d}]]`);
    expect(refused.read.ok).toBe(false);
    expect((await calls(tag)).map((x) => x.model)).toEqual([P]);

    const tag2 = uniqueTag("cf-think-ds");
    const { read } = await send("openai", k.key, [PRIMARY, DS.id], `[[tag=${tag2};${d};thinking@${DS.upstream}=it over;reply@${DS.upstream}=four]]`);
    expect(read.ok).toBe(true);
    expect(read.content).toBe("four");
    const c = await calls(tag2);
    expect(c.map((x) => x.model)).toEqual([P, DS.upstream]);
    expect(c[1]!.messages.at(-1)).toEqual({ role: "assistant", content: "", prefix: true, reasoning_content: "let me " });
  });

  it("Anthropic with extended thinking on is not asked to continue (it refuses a prefill then)", async () => {
    const k = await teamWithPolicy({ routing: { continue_on_cut: true } });
    const tag = uniqueTag("cf-thinking-on");
    const r = await messages(k.key, {
      models: [PRIMARY, HAIKU.id],
      max_tokens: 4000,
      thinking: { type: "enabled", budget_tokens: 2000 },
      stream: true,
      messages: [{ role: "user", content: `[[tag=${tag};cut_after@${P}=3;reply=one two three four]]` }],
    });
    const read = readAnthropic(await r.text());
    expect(read.content).toBe("one two ");
    expect(read.ok).toBe(false);
    expect((await calls(tag)).map((x) => x.model)).toEqual([P]);
  });

  it("every fallback rejects the prefill and the primary cannot continue: the client gets the original failure", async () => {
    const k = await teamWithPolicy({ routing: { continue_on_cut: true } });
    const tag = uniqueTag("cf-reject");
    const { r, read } = await send("anthropic", k.key, [PRIMARY, DS.id], `[[tag=${tag};cut_after@${P}=3;reply@${P}=one two three;reject_prefill@${DS.upstream}=1]]`);
    expect(read.content).toBe("one two ");
    expect(read.ok).toBe(false);
    expect(read.last).toMatchObject({ event: "error", data: { error: { type: "api_error" } } });
    expect(read.last!.data.error.message).not.toMatch(/prefill/);
    expect((await calls(tag)).map((x) => x.model)).toEqual([P, DS.upstream]);
    const gen = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(gen).toMatchObject({ status: "cut", model: PRIMARY });
  });

  it("no fallback can continue: the continuation is retried once on the primary, which can", async () => {
    await closeCircuits({ provider: "anthropic", model: HAIKU.id });
    const k = await teamWithPolicy({ routing: { continue_on_cut: true } });
    const tag = uniqueTag("cf-retry");
    const H = HAIKU.upstream;
    // The primary's first stream drops after "one two "; the fallback refuses the prefill; the primary continues.
    const { r, read } = await send("openai", k.key, [HAIKU.id, DS.id], `[[tag=${tag};reply@${H}=one two three four;cut_after@${H}=4;faults_first@${H}=1;reject_prefill@${DS.upstream}=1]]`);
    const c = await calls(tag);
    expect(read.content).toBe("one two three four");
    expect(read.ok).toBe(true);
    expect(c.map((x) => x.model)).toEqual([H, DS.upstream, H]);
    expect(c[2]!.messages.at(-1)).toEqual({ role: "assistant", content: "one two" });
    const gen = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(gen.status).toBe("ok");
    expect(gen.attempts.map((a: any) => [a.model, a.ok])).toEqual([[HAIKU.id, false], [DS.id, false], [HAIKU.id, true]]);
    expect(gen.segments.map((s: any) => s.model)).toEqual([HAIKU.id, HAIKU.id]);
    expect(sumDollars(gen.segments.map((s: any) => s.cost_exact))).toBe(gen.cost_exact);
  });

  it("within a budget: the hold covers one continuation; a continuation that could not fit the hold is not asked", async () => {
    const budget = { budgets: [{ scope: "team" as const, period: "month" as const, limit_usd: "100.00" }] };
    const k = await teamWithPolicy({ routing: { continue_on_cut: true }, ...budget });
    const tag = uniqueTag("cf-hold");
    const ok = await send("openai", k.key, [PRIMARY, DS.id], `[[tag=${tag};cut_after@${P}=3;reply=one two three four;pt@${DS.upstream}=40;ct@${DS.upstream}=2]]`);
    expect(ok.read.content).toBe("one two three four");
    expect(ok.read.ok).toBe(true);
    const gen = await eventually(() => generationOf(k.key, ok.r.headers.get("x-request-id")!));
    expect(gen).toMatchObject({ status: "ok", capped: false });
    expect(sumDollars(gen.segments.map((s: any) => s.cost_exact))).toBe(gen.cost_exact);

    // max_tokens 5, yet the primary streams 3,500 bytes before it is cut: re-sending them could cost more than
    // the hold allows, so no fallback is asked and the answer ends cut.
    const tag2 = uniqueTag("cf-hold-big");
    const { r, text } = await timedChat(k.key, {
      models: [PRIMARY, DS.id],
      stream: true,
      max_tokens: 5,
      messages: userMsg(`[[tag=${tag2};reply@${P}=${"word ".repeat(800)};cut_after@${P}=700]]`),
    });
    expect(readOpenAI(text).ok).toBe(false);
    expect((await calls(tag2)).map((x) => x.model)).toEqual([P]);
    const big = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(big.status).toBe("cut");
  });
});
