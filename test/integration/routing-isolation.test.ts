import { env, SELF } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setClock } from "../../src/core/clock";
import { healthKey } from "../../src/routing/circuit";
import { chat, eventually, uniqueTag, upstreamLog, userMsg } from "./helpers";
import { teamWithPolicy } from "./routing-helpers";

/*
 * One team must not be able to shut a model off for the others: what a client controls (time limits it
 * lowers itself, hanging up) says nothing about the provider, so it never reaches the shared circuit
 * (vitest.config.ts: CIRCUIT_FAILURES=10, CIRCUIT_OPEN_MS=400). Each test has a model of its own.
 */
const FAILURES = 10;
const OPEN_MS = 400;

let clock = 0;
beforeEach(() => {
  clock = Date.now();
  setClock(() => clock);
});
afterEach(() => setClock(null));

const healthStub = () => env.HEALTH!.get(env.HEALTH!.idFromName("global"));

/** Team B's request to `model` is served by it, and the Health object holds a record of it without failures. */
async function servedForOthers(model: string): Promise<void> {
  const b = await teamWithPolicy({});
  const r = await chat(b.key, { model, messages: userMsg(`[[tag=${uniqueTag("iso-b")}]]`) });
  expect(r.status, await r.clone().text()).toBe(200);
  expect(r.headers.get("x-switchyard-model")).toBe(model);
  await r.body?.cancel();
  // Team B's success reaches the Health object with the first sync: the client-caused failures before it must not.
  const rec = await eventually(async () => (await healthStub().snapshot())[healthKey("openai", model)], 5000);
  expect(rec).toMatchObject({ state: "closed", failures: 0, lastFailureAt: 0 });
}

describe("limits a client lowers, and hanging up, never count against the provider", () => {
  it("total: 1 (non-stream) and first_token: 1 (stream), circuit-many times each, from team A; team B is still served", async () => {
    const MODEL = "openai/gpt-4.1-mini";
    const a = await teamWithPolicy({ routing: { retries: 0 } });
    const tag = uniqueTag("iso-total");
    // total: 1 mostly runs out before the call is sent; total: 50 runs out while the provider works.
    for (const total of [1, 50]) {
      for (let i = 0; i < FAILURES; i++) {
        const r = await chat(a.key, { model: MODEL, provider: { timeouts_ms: { total } }, messages: userMsg(`[[tag=${tag};first_delay=200]]`) });
        expect(r.status).toBe(504);
        await r.body?.cancel();
      }
    }
    for (let i = 0; i < FAILURES; i++) {
      const r = await chat(a.key, { model: MODEL, stream: true, provider: { timeouts_ms: { first_token: 1 } }, messages: userMsg(`[[tag=${tag};token_delay=200]]`) });
      await r.text();
    }
    expect((await upstreamLog(tag)).length).toBeGreaterThanOrEqual(2 * FAILURES);
    await servedForOthers(MODEL);
  });

  it("a stream cut by the client's own idle or total limit mid-answer is no failure of the provider", async () => {
    const MODEL = "openai/gpt-4o-mini";
    const a = await teamWithPolicy({ routing: { retries: 0 } });
    const tag = uniqueTag("iso-idle");
    for (let i = 0; i < FAILURES; i++) {
      const idle = i % 2 === 0;
      const r = await chat(a.key, {
        model: MODEL,
        stream: true,
        provider: { timeouts_ms: idle ? { idle: 30 } : { total: 300 } },
        messages: userMsg(idle ? `[[tag=${tag};stall_after=2]]` : `[[tag=${tag};delay=100;reply=a b c d e f g h i j]]`),
      });
      const text = await r.text();
      // Cut mid-answer (on a busy machine the total limit may run out before the provider's headers: a 504).
      if (idle || r.status === 200) expect(text).toMatch(/"finish_reason":"error"/);
      else expect(r.status).toBe(504);
    }
    await servedForOthers(MODEL);
  });

  it("clients that hang up mid-request are no failure either", async () => {
    const MODEL = "openai/gpt-4o";
    const a = await teamWithPolicy({ routing: { retries: 0 } });
    const tag = uniqueTag("iso-gone");
    for (let i = 0; i < FAILURES; i++) {
      const ac = new AbortController();
      const pending = SELF.fetch("http://gateway/v1/chat/completions", {
        method: "POST",
        headers: { authorization: `Bearer ${a.key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: MODEL, messages: userMsg(`[[tag=${tag};first_delay=300]]`) }),
        signal: ac.signal,
      });
      await eventually(async () => (await upstreamLog(tag)).length > i);
      ac.abort();
      await pending.then((r) => r.body?.cancel(), () => {});
    }
    await servedForOthers(MODEL);
  });

  it("a half-open circuit's probe that the client abandons before its first token is given back", async () => {
    const MODEL = "openai/gpt-4.1";
    const a = await teamWithPolicy({ routing: { retries: 0 } });
    const tag = uniqueTag("iso-probe");
    for (let i = 0; i < FAILURES; i++) {
      const r = await chat(a.key, { model: MODEL, messages: userMsg(`[[tag=${tag};status=503]]`) });
      await r.body?.cancel();
    }
    clock += OPEN_MS;
    // The probe: a stream committed at the provider's headers, abandoned while the first token is awaited.
    const ac = new AbortController();
    const r = await SELF.fetch("http://gateway/v1/chat/completions", {
      method: "POST",
      headers: { authorization: `Bearer ${a.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, stream: true, messages: userMsg(`[[tag=${tag}-p;token_delay=3000]]`) }),
      signal: ac.signal,
    });
    expect(r.status).toBe(200);
    ac.abort();
    await r.body?.cancel().catch(() => {});
    // The next request is let through as the probe, and its success closes the circuit.
    await eventually(async () => {
      const next = await chat(a.key, { model: MODEL, messages: userMsg(`[[tag=${tag}-n]]`) });
      await next.body?.cancel();
      return next.status === 200;
    }, 3000);
  });

  it("a client that reads slowly does not make the provider's throughput look low", async () => {
    const MODEL = "openai/gpt-6.1-sol";
    const a = await teamWithPolicy({});
    const tag = uniqueTag("iso-slow");
    const reply = Array.from({ length: 600 }, (_, i) => `w${i}`).join(" ");
    const r = await chat(a.key, { model: MODEL, stream: true, messages: userMsg(`[[tag=${tag};ct=600;reply=${reply}]]`) });
    expect(r.status).toBe(200);
    const reader = r.body!.getReader();
    await reader.read();
    // The gateway takes the provider's whole answer while this client reads nothing more: it waits on the client.
    await eventually(async () => (await upstreamLog(tag)).some((e) => e.completed));
    let text = "";
    const decoder = new TextDecoder();
    for (let c = await reader.read(); !c.done; c = await reader.read()) text += decoder.decode(c.value, { stream: true });
    expect(text).toContain("[DONE]");
    // Another team's request carries the picture to the Health object: the slow client left no throughput sample.
    const b = await teamWithPolicy({});
    const rb = await chat(b.key, { model: MODEL, messages: userMsg(`[[tag=${tag}-b]]`) });
    await rb.body?.cancel();
    const rec = await eventually(async () => (await healthStub().snapshot())[healthKey("openai", MODEL)], 5000);
    expect(rec.throughput).toBeNull();
  });
});
