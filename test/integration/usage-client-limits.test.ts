import { describe, expect, it } from "vitest";
import { chat, eventually, expectedCost, generationOf, newTeamKey, uniqueTag, upstreamLog, usageOf, userMsg } from "./helpers";

/*
 * A provider that was sent a request works on it (and bills the gateway) whether or not the client waits for
 * the answer: a request the client's own limit gave up on once the provider had it is billed at least its
 * prompt, estimated, and counted.
 */
const MINI = "openai/gpt-4o-mini";
const PROMPT = "word ".repeat(2000);

describe("a non-stream request whose client-lowered total limit runs out after the provider took it", () => {
  for (const [when, directive] of [
    ["after the provider's headers", "body_delay=400"],
    ["while the provider works, before its headers", "first_delay=400"],
  ] as const) {
    it(`${when}: billed its prompt, estimated, recorded cancelled and counted`, async () => {
      const k = await newTeamKey();
      const tag = uniqueTag("lim-total");
      const r = await chat(k.key, { model: MINI, provider: { timeouts_ms: { total: 150 } }, messages: userMsg(`${PROMPT}[[tag=${tag};${directive}]]`) });
      const text = await r.text();
      expect(r.status, text).toBe(504);
      expect((await upstreamLog(tag)).length).toBe(1);
      const id = r.headers.get("x-request-id")!;
      const g = await eventually(() => generationOf(k.key, id));
      expect(g).toMatchObject({ status: "cancelled", estimated: true, completion_tokens: 0 });
      expect(g.prompt_tokens).toBeGreaterThanOrEqual(2000);
      expect(g.cost_exact).toBe(expectedCost(MINI, { prompt: g.prompt_tokens, completion: 0 }));
      const u = await usageOf(k.key);
      expect(u.totals).toMatchObject({ requests: 1, prompt_tokens: g.prompt_tokens, cost_exact: g.cost_exact });
    });
  }

  it("never sent (the limit ran out first): not billed", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("lim-unsent");
    const r = await chat(k.key, { model: MINI, provider: { timeouts_ms: { total: 1 } }, messages: userMsg(`[[tag=${tag};first_delay=400]]`) });
    await r.text();
    const id = r.headers.get("x-request-id")!;
    const g = await eventually(() => generationOf(k.key, id));
    if (g.attempts.length === 0) expect(g).toMatchObject({ status: "error", cost: 0, prompt_tokens: 0 });
  });
});
