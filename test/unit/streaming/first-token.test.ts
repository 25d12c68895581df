import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Attempt } from "../../../src/ledger/event";
import { runAttempts, type AttemptsInput, type Served } from "../../../src/routing/attempts";
import { awaitFirstToken, FirstTokenGuard, type ChunkSource } from "../../../src/streaming/first-token";
import { baseInput, FakeProviders, FALLBACK, LIMITS, openStream, planned, PRIMARY, recordingHealth, ROLE, scriptedWorld, sse, token, type Answer } from "../../support/fake-provider";
import type { ManualClock } from "../../support/manual-clock";

const enc = new TextEncoder();
const dec = new TextDecoder();
const body = (...parts: string[]) =>
  new Response(new ReadableStream<Uint8Array>({ start: (c) => (parts.forEach((p) => c.enqueue(enc.encode(p))), c.close()) }));
const ERROR_EVENT = sse({ error: { message: "overloaded", type: "server_error" } });

async function readAll(chunks: ChunkSource): Promise<string> {
  let text = "";
  for (;;) {
    const { done, value } = await chunks.read();
    if (done) return text;
    text += dec.decode(value);
  }
}

describe("awaitFirstToken: a held stream", () => {
  it("hands on the events read while waiting, ahead of the rest", async () => {
    const first = await awaitFirstToken(body(ROLE, token("Hel"), token("lo")), "openai");
    expect("chunks" in first).toBe(true);
    if ("chunks" in first) expect(await readAll(first.chunks)).toBe(ROLE + token("Hel") + token("lo"));
  });

  it("an error event before the first token fails the attempt with the provider's message", async () => {
    expect(await awaitFirstToken(body(ROLE, ERROR_EVENT), "openai")).toEqual({ error: "provider sent an error before the first token: overloaded" });
  });

  it("a stream that ends before its first token fails the attempt", async () => {
    expect(await awaitFirstToken(body(ROLE), "openai")).toEqual({ error: "provider ended the stream before the first token" });
  });

  it("knows each format's first token and error", async () => {
    const anthropic = 'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}\n\n';
    expect("chunks" in (await awaitFirstToken(body('event: message_start\ndata: {"type":"message_start"}\n\n', anthropic), "anthropic"))).toBe(true);
    expect(await awaitFirstToken(body('event: error\ndata: {"type":"error","error":{"message":"busy"}}\n\n'), "anthropic")).toEqual({
      error: "provider sent an error before the first token: busy",
    });
  });
});

/*
 * An OpenAI-format stream committed at its provider's headers (earlyCommit), on a clock the test moves:
 * the role chunk passes at once; if the first token does not follow, the fallback's answer is spliced in
 * behind it.
 */
const up = (id: string) => planned(id).model.upstream_id;

describe("FirstTokenGuard: a stream committed before its first token", () => {
  let clock: ManualClock;
  let fake: FakeProviders;
  let uninstall: () => void;
  beforeEach(() => ({ clock, fake, uninstall } = scriptedWorld()));
  afterEach(() => uninstall());

  const streaming = (...events: string[]): Answer => ({ signal }) => {
    const s = openStream(signal);
    for (const e of events) s.send(e);
    return s.response;
  };
  const finished = (...events: string[]): Answer => ({ signal }) => {
    const s = openStream(signal);
    for (const e of events) s.send(e);
    s.end();
    return s.response;
  };

  async function committed(models: string[]) {
    const log: Attempt[] = [];
    const health = recordingHealth();
    const switched: Served[] = [];
    const input: AttemptsInput = {
      ...baseInput,
      stream: true,
      earlyCommit: true,
      attempts: models.map(planned),
      clientSignal: undefined,
      log,
      timeouts: LIMITS,
      gatewayTimeouts: LIMITS,
      health,
      onSwitch: (s) => switched.push(s),
      random: () => 0,
    };
    const served = await clock.run(runAttempts(input));
    expect(served.chunks).toBeInstanceOf(FirstTokenGuard);
    return { served, health, log, switched };
  }

  it("passes the role chunk at once; silence after it fails over at the first-token limit, the fallback's role chunk dropped", async () => {
    fake.script(up(PRIMARY), streaming(ROLE));
    fake.script(up(FALLBACK), finished(ROLE, token("from the fallback"), "data: [DONE]\n\n"));
    const t0 = clock.now();
    const { served, health, switched } = await committed([PRIMARY, FALLBACK]);
    expect(clock.now()).toBe(t0);
    expect(dec.decode((await served.chunks.read()).value)).toBe(ROLE);
    const rest = clock.run(readAll(served.chunks));
    expect(await rest).toBe(token("from the fallback") + "data: [DONE]\n\n");
    expect(fake.calls.map((c) => [c.model, c.at - t0])).toEqual([[up(PRIMARY), 0], [up(FALLBACK), 2_000]]);
    expect(served.planned.model.id).toBe(FALLBACK);
    expect(switched).toHaveLength(1);
    expect(health.reports.map((r) => [r.model, r.outcome.ok])).toEqual([[PRIMARY, false], [FALLBACK, true]]);
    served.release();
  });

  it("an error event before the first token is retried, then failed over; the role chunk passes once", async () => {
    fake.script(up(PRIMARY), finished(ROLE, ERROR_EVENT));
    fake.script(up(FALLBACK), finished(ROLE, token("ok"), "data: [DONE]\n\n"));
    const t0 = clock.now();
    const { served, log } = await committed([PRIMARY, FALLBACK]);
    expect(await clock.run(readAll(served.chunks))).toBe(ROLE + token("ok") + "data: [DONE]\n\n");
    // Retried after the backoff (random 0: 250 ms, then 400 ms) while the retry budget lasts, then the fallback.
    expect(fake.calls.map((c) => [c.model, c.at - t0])).toEqual([[up(PRIMARY), 0], [up(PRIMARY), 250], [up(PRIMARY), 650], [up(FALLBACK), 650]]);
    expect(log[0]).toMatchObject({ ok: false, error: "provider sent an error before the first token: overloaded" });
    served.release();
  });

  it("once the first token came, the first-token limit no longer applies", async () => {
    fake.script(up(PRIMARY), streaming(ROLE, token("Hel")));
    fake.script(up(FALLBACK), finished(token("never")));
    const { served, health } = await committed([PRIMARY, FALLBACK]);
    expect(dec.decode((await served.chunks.read()).value)).toBe(ROLE);
    expect(dec.decode((await served.chunks.read()).value)).toBe(token("Hel"));
    // Past the first-token limit, short of the total: the answer stands.
    await clock.advance(LIMITS.first_token + 1);
    expect(served.controller.signal.aborted).toBe(false);
    expect(fake.callsTo(up(FALLBACK))).toBe(0);
    expect(health.reports.map((r) => r.outcome.ok)).toEqual([true]);
    served.release();
  });

  it("when every candidate fails before its first token, the read fails and the answer is marked failed", async () => {
    fake.script(up(PRIMARY), streaming(ROLE));
    fake.script(up(FALLBACK), finished(ERROR_EVENT));
    const { served } = await committed([PRIMARY, FALLBACK]);
    await served.chunks.read();
    const err = await clock.run(served.chunks.read()).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(served.chunks.failed).toBe(true);
  });
});
