import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setClock } from "../../src/core/clock";
import { healthKey } from "../../src/routing/circuit";
import { resetLocalHealth } from "../../src/routing/health";
import { chat, eventually, expectError, uniqueTag, userMsg } from "./helpers";
import { calls, teamWithPolicy } from "./routing-helpers";

/*
 * Circuit breaking per provider+model (vitest.config.ts: CIRCUIT_FAILURES=10, CIRCUIT_OPEN_MS=400). Each test
 * uses its own primary model so that circuits do not carry over between tests. The circuits' clock is held
 * still and moved by the tests: an open period ends when a test says so, however busy the machine is.
 */
const OPEN_MS = 400;
const FAILURES = 10;
const FALLBACK = "groq/llama-3.3-70b-versatile";
const F = "llama-3.3-70b-versatile";

let clock = 0;
/** Moves the circuits' clock forward. */
const advance = (ms: number) => {
  clock += ms;
};
beforeEach(() => {
  clock = Date.now();
  setClock(() => clock);
});
afterEach(() => setClock(null));

function healthStub() {
  return env.HEALTH!.get(env.HEALTH!.idFromName("global"));
}

/** Sends `n` requests one after another; the primary fails each with 503, the fallback answers. */
async function tripCircuit(key: string, primary: string, upstream: string, tag: string, n = FAILURES): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await chat(key, { models: [primary, FALLBACK], messages: userMsg(`[[tag=${tag};status@${upstream}=503]]`) });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-switchyard-model")).toBe(FALLBACK);
    await r.body?.cancel();
  }
}

const modelCalls = async (tag: string, upstream: string) => (await calls(tag)).filter((c) => c.model === upstream).length;

describe("circuit breaker", () => {
  it("a primary down for a while, then recovering: opens, the fallback serves, one probe, closes, traffic returns", async () => {
    const PRIMARY = "openai/gpt-4o";
    const P = "gpt-4o";
    const k = await teamWithPolicy({ routing: { retries: 0 } });
    const tag = uniqueTag("circ");
    await tripCircuit(k.key, PRIMARY, P, tag);
    expect(await modelCalls(tag, P)).toBe(FAILURES);

    // Open: the primary is not called at all; the fallback serves.
    const r = await chat(k.key, { models: [PRIMARY, FALLBACK], messages: userMsg(`[[tag=${tag};status@${P}=503]]`) });
    expect(r.headers.get("x-switchyard-model")).toBe(FALLBACK);
    await r.body?.cancel();
    expect(await modelCalls(tag, P)).toBe(FAILURES);

    // Alone, the primary is refused with 503 and Retry-After, saying why.
    const alone = await chat(k.key, { model: PRIMARY, messages: userMsg(`[[tag=${tag};status@${P}=503]]`) });
    expect(alone.headers.get("retry-after")).toBe("1");
    const e = await expectError(alone, 503, "unavailable");
    expect(e.excluded).toEqual([{ model: PRIMARY, provider: "openai", reason: expect.stringMatching(/^circuit open/), by: "health" }]);
    expect(await modelCalls(tag, P)).toBe(FAILURES);

    // Still open just before OPEN_MS has passed.
    advance(OPEN_MS - 1);
    const still = await chat(k.key, { model: PRIMARY, messages: userMsg(`[[tag=${tag};status@${P}=503]]`) });
    await expectError(still, 503, "unavailable");
    expect(await modelCalls(tag, P)).toBe(FAILURES);

    // Half-open after OPEN_MS: of two concurrent requests one probes the (now healthy, slow) primary.
    advance(1);
    const tag2 = uniqueTag("circ-probe");
    const both = await Promise.all(
      [0, 1].map(() => chat(k.key, { models: [PRIMARY, FALLBACK], messages: userMsg(`[[tag=${tag2};first_delay@${P}=300]]`) })),
    );
    const served = both.map((x) => x.headers.get("x-switchyard-model")).sort();
    expect(served).toEqual([FALLBACK, PRIMARY].sort());
    await Promise.all(both.map((x) => x.body?.cancel()));
    expect(await modelCalls(tag2, P)).toBe(1);

    // Closed: traffic returns to the primary.
    const tag3 = uniqueTag("circ-back");
    for (let i = 0; i < 3; i++) {
      const back = await chat(k.key, { models: [PRIMARY, FALLBACK], messages: userMsg(`[[tag=${tag3}]]`) });
      expect(back.headers.get("x-switchyard-model")).toBe(PRIMARY);
      await back.body?.cancel();
    }
    expect(await modelCalls(tag3, F)).toBe(0);
  });

  it("a dead primary while its circuit is still closed: every failed try counts, so retries do not multiply its load", async () => {
    const PRIMARY = "openai/gpt-4.1-mini";
    const P = "gpt-4.1-mini";
    const k = await teamWithPolicy({ routing: { retries: 1 } });
    const tag = uniqueTag("circ-dead");
    for (let i = 0; i < 8; i++) {
      const r = await chat(k.key, { models: [PRIMARY, FALLBACK], messages: userMsg(`[[tag=${tag};status@${P}=503]]`) });
      expect(r.headers.get("x-switchyard-model")).toBe(FALLBACK);
      await r.body?.cancel();
    }
    // Two tries a request (one retry) until the circuit opens at FAILURES tries in all, then none.
    expect(await modelCalls(tag, P)).toBe(FAILURES);
  });

  it("a failed probe opens the circuit again, for twice as long", async () => {
    const PRIMARY = "openai/gpt-4.1";
    const P = "gpt-4.1";
    const k = await teamWithPolicy({ routing: { retries: 0 } });
    const tag = uniqueTag("circ-reopen");
    await tripCircuit(k.key, PRIMARY, P, tag);
    advance(OPEN_MS);
    const send = async () => {
      const r = await chat(k.key, { models: [PRIMARY, FALLBACK], messages: userMsg(`[[tag=${tag};status@${P}=503]]`) });
      await r.body?.cancel();
      return r.headers.get("x-switchyard-model");
    };
    expect(await send()).toBe(FALLBACK); // the probe failed, the fallback answered
    expect(await modelCalls(tag, P)).toBe(FAILURES + 1);
    advance(2 * OPEN_MS - 1); // past the first open time, not the doubled one
    expect(await send()).toBe(FALLBACK);
    expect(await modelCalls(tag, P)).toBe(FAILURES + 1);
    advance(1);
    expect(await send()).toBe(FALLBACK); // second probe
    expect(await modelCalls(tag, P)).toBe(FAILURES + 2);
  });

  it("is shared: the Health object folds every isolate's reports, and a fresh isolate learns an open circuit from it", async () => {
    const PRIMARY = "openai/gpt-6.1-terra";
    const P = "gpt-6.1-terra";
    const k = await teamWithPolicy({ routing: { retries: 0 } });
    const tag = uniqueTag("circ-shared");
    await tripCircuit(k.key, PRIMARY, P, tag);
    const key = healthKey("openai", PRIMARY);
    const shared = await eventually(async () => {
      const snap = await healthStub().snapshot();
      return snap[key]?.state === "open" ? snap[key] : null;
    }, 3000);
    expect(shared.failures).toBe(FAILURES);

    // Another isolate's failures (and failed probes, so that it stays open for 8 × 400 ms), reported straight to
    // the object, open a circuit this isolate has not seen.
    const OTHER = "openai/gpt-6.1-sol";
    const now = clock;
    const failure = (i: number, probe: boolean) => ({ key: healthKey("openai", OTHER), at: now + i, ok: false, probe });
    await healthStub().report([...Array.from({ length: FAILURES }, (_, i) => failure(i, false)), ...[1, 2, 3].map((i) => failure(FAILURES + i, true))]);
    resetLocalHealth();
    const tag2 = uniqueTag("circ-learn");
    await eventually(async () => {
      const r = await chat(k.key, { model: OTHER, messages: userMsg(`[[tag=${tag2}]]`) });
      await r.body?.cancel();
      return r.status === 503;
    }, 3000);
  });
});

describe("half-open probes across isolates", () => {
  it("one probe at a time everywhere: while another isolate holds it this one skips; its success closes the circuit here too", async () => {
    const PRIMARY = "openai/gpt-6-luna";
    const P = "gpt-6-luna";
    const key = healthKey("openai", PRIMARY);
    const k = await teamWithPolicy({ routing: { retries: 0 } });
    const tag = uniqueTag("circ-global");
    await tripCircuit(k.key, PRIMARY, P, tag);
    advance(OPEN_MS);
    // Half-open now. Another isolate claims the probe first.
    expect(await healthStub().claimProbe(key, 60_000, "another-isolate")).toMatchObject({ granted: true });
    const send = async () => {
      const r = await chat(k.key, { models: [PRIMARY, FALLBACK], messages: userMsg(`[[tag=${tag}]]`) });
      await r.body?.cancel();
      return r.headers.get("x-switchyard-model");
    };
    expect(await send()).toBe(FALLBACK);
    advance(300); // past this isolate's memo of the refusal (250 ms): it asks again, and is refused again
    expect(await send()).toBe(FALLBACK);
    expect(await modelCalls(tag, P)).toBe(FAILURES);
    // The other isolate's probe succeeds and reaches the object: the next claim here learns the circuit closed.
    await healthStub().report([{ key, at: clock, ok: true, probe: true }]);
    advance(300);
    expect(await send()).toBe(PRIMARY);
    expect(await send()).toBe(PRIMARY);
    expect(await modelCalls(tag, P)).toBe(FAILURES + 2);
  });

  it("a claim whose isolate never reports lapses, and another may probe", async () => {
    const key = healthKey("openai", "openai/gpt-lapse");
    expect((await healthStub().claimProbe(key, 200, "a")).granted).toBe(true);
    expect((await healthStub().claimProbe(key, 200, "b")).granted).toBe(false);
    expect((await healthStub().claimProbe(key, 200, "a")).granted).toBe(true); // its own holder may claim again
    advance(199);
    expect((await healthStub().claimProbe(key, 200, "b")).granted).toBe(false);
    advance(1);
    expect((await healthStub().claimProbe(key, 200, "b")).granted).toBe(true);
    await healthStub().releaseProbe(key);
    expect((await healthStub().claimProbe(key, 200, "c")).granted).toBe(true);
  });
});

describe("latency and throughput averages", () => {
  it("serve sort: latency and :nitro (throughput)", async () => {
    const A = "deepseek/deepseek-v4-pro";
    const B = "groq/llama-3.3-70b-versatile";
    const k = await teamWithPolicy({ aliases: { pair: [A, B] } });
    const tag = uniqueTag("avg");
    const words = Array.from({ length: 20 }, (_, i) => `w${i}`).join(" ");
    // A: slow to answer and slow to stream; B: quick at both.
    for (let i = 0; i < 3; i++) {
      for (const [model, d] of [[A, "first_delay=120;delay=10"], [B, "delay=0"]] as const) {
        const r = await chat(k.key, { model, stream: true, messages: userMsg(`[[tag=${tag};${d};ct=100;reply=${words}]]`) });
        expect(r.status).toBe(200);
        await r.text();
      }
    }
    const first = async (body: Record<string, unknown>) => {
      const r = await chat(k.key, { ...body, messages: userMsg(`[[tag=${tag}]]`) });
      await r.body?.cancel();
      return r.headers.get("x-switchyard-model");
    };
    expect(await first({ model: "pair" })).toBe(A); // the alias's own order
    expect(await first({ model: "pair", provider: { sort: "latency" } })).toBe(B);
    expect(await first({ model: "pair:nitro" })).toBe(B);
  });
});
