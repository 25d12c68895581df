import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GatewayError } from "../../../src/core/errors";
import type { Attempt } from "../../../src/ledger/event";
import type { Env } from "../../../src/env";
import { upstreamTimeouts } from "../../../src/core/time-limits";
import { effectiveTimeouts, runAttempts, type AttemptsInput } from "../../../src/routing/attempts";
import type { PlannedAttempt } from "../../../src/routing/plan";
import { baseInput, DONE, errorResponse, FakeProviders, FALLBACK, hang, LIMITS, okJson, openStream, planned, PRIMARY, recordingHealth, ROLE, scriptedWorld, token } from "../../support/fake-provider";
import type { ManualClock } from "../../support/manual-clock";

/*
 * The attempt loop on a clock the test moves (src/core/clock.ts) and providers it scripts: every wait is
 * measured on that clock, so a busy machine changes nothing.
 */

let clock: ManualClock;
let fake: FakeProviders;
let uninstall: () => void;
beforeEach(() => ({ clock, fake, uninstall } = scriptedWorld()));
afterEach(() => uninstall());

function attempts(models: string[], over: Partial<AttemptsInput> = {}) {
  const log: Attempt[] = [];
  const health = recordingHealth();
  const input: AttemptsInput = {
    ...baseInput,
    attempts: models.map(planned),
    clientSignal: undefined,
    log,
    timeouts: LIMITS,
    gatewayTimeouts: LIMITS,
    health,
    random: () => 0,
    ...over,
  };
  return { input, log, health, run: () => clock.run(runAttempts(input)) };
}

const up = (id: string) => planned(id).model.upstream_id;
const failed = (health: ReturnType<typeof recordingHealth>) => health.reports.filter((r) => !r.outcome.ok).map((r) => r.model);

async function rejection(p: Promise<unknown>): Promise<GatewayError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(GatewayError);
  return err as GatewayError;
}

describe("runAttempts: retries and fallbacks", () => {
  it("retries a 503 on the same model after the backoff, and counts the failed try for the circuit", async () => {
    fake.script(up(PRIMARY), () => errorResponse(503), () => okJson());
    const { run, log, health } = attempts([PRIMARY]);
    const t0 = clock.now();
    const served = await run();
    expect(served.planned.model.id).toBe(PRIMARY);
    // random 0: half of the first backoff step (400 ms), but never closer than the minimum spacing (250 ms).
    expect(fake.calls.map((c) => c.at - t0)).toEqual([0, 250]);
    expect(log.map((a) => [a.status, a.ok])).toEqual([[503, false], [200, true]]);
    expect(health.reports.map((r) => r.outcome.ok)).toEqual([false, true]);
  });

  it("waits as long as a Retry-After asks", async () => {
    fake.script(up(PRIMARY), () => errorResponse(429, "slow down", { "retry-after": "2" }), () => okJson());
    const { run, health } = attempts([PRIMARY]);
    const t0 = clock.now();
    await run();
    expect(fake.calls.map((c) => c.at - t0)).toEqual([0, 2_000]);
    // A 429 is the provider's answer to load, not a failure of it.
    expect(failed(health)).toEqual([]);
  });

  it("fails over at once when a Retry-After asks for more than the cap, and says when to come back", async () => {
    fake.script(up(PRIMARY), () => errorResponse(429, "slow down", { "retry-after": "30" }));
    fake.script(up(FALLBACK), () => okJson());
    const { run } = attempts([PRIMARY, FALLBACK]);
    const t0 = clock.now();
    const served = await run();
    expect(served.planned.model.id).toBe(FALLBACK);
    expect(fake.calls.map((c) => [c.model, c.at - t0])).toEqual([[up(PRIMARY), 0], [up(FALLBACK), 0]]);
    fake.script(up(PRIMARY), () => errorResponse(429, "slow down", { "retry-after": "30" }));
    const alone = await rejection(attempts([PRIMARY]).run());
    expect(alone.code).toBe("rate_limited");
    expect(alone.headers["retry-after"]).toBe("30");
  });

  it("moves to the next model once the retry budget is spent, every failed try counted", async () => {
    fake.script(up(PRIMARY), () => errorResponse(503));
    fake.script(up(FALLBACK), () => okJson());
    const { run, health } = attempts([PRIMARY, FALLBACK], { retries: 1 });
    const t0 = clock.now();
    const served = await run();
    expect(served.planned.model.id).toBe(FALLBACK);
    // The fallback goes the moment the last retry fails: no pause between providers.
    expect(fake.calls.map((c) => [c.model, c.at - t0])).toEqual([[up(PRIMARY), 0], [up(PRIMARY), 250], [up(FALLBACK), 250]]);
    expect(failed(health)).toEqual([PRIMARY, PRIMARY]);
    expect(health.reports.at(-1)).toMatchObject({ model: FALLBACK, outcome: { ok: true } });
  });

  it("does not pause for a retry that would end past the total limit: the next model is tried at once", async () => {
    fake.script(up(PRIMARY), () => errorResponse(503));
    fake.script(up(FALLBACK), () => okJson());
    const { run } = attempts([PRIMARY, FALLBACK], { timeouts: { ...LIMITS, total: 200 }, gatewayTimeouts: { ...LIMITS, total: 200 } });
    const t0 = clock.now();
    await run();
    expect(fake.calls.map((c) => [c.model, c.at - t0])).toEqual([[up(PRIMARY), 0], [up(FALLBACK), 0]]);
  });

  it("ends the request on a 400 with the provider's reason, and moves past a 404 without a pause", async () => {
    fake.script(up(PRIMARY), () => errorResponse(404, "no such model"));
    fake.script(up(FALLBACK), () => errorResponse(400, "messages: required"));
    const { run, health } = attempts([PRIMARY, FALLBACK, "deepseek/deepseek-flash"]);
    const t0 = clock.now();
    const err = await rejection(run());
    expect(err.status).toBe(400);
    expect(err.message).toContain("messages: required");
    expect(fake.calls.map((c) => [c.model, c.at - t0])).toEqual([[up(PRIMARY), 0], [up(FALLBACK), 0]]);
    expect(failed(health)).toEqual([]);
  });
});

describe("runAttempts: time limits", () => {
  it("ends a hanging answer at the total limit, and tries nothing after it", async () => {
    fake.script(up(PRIMARY), hang);
    fake.script(up(FALLBACK), () => okJson());
    const { run, health, log } = attempts([PRIMARY, FALLBACK], { timeouts: { ...LIMITS, total: 1_000 }, gatewayTimeouts: { ...LIMITS, total: 1_000 } });
    const t0 = clock.now();
    const err = await rejection(run());
    expect(err.code).toBe("upstream_timeout");
    expect(clock.now() - t0).toBe(1_000);
    expect(fake.callsTo(up(FALLBACK))).toBe(0);
    expect(log).toHaveLength(1);
    expect(failed(health)).toEqual([PRIMARY]);
  });

  it("counts the total limit from when the request arrived", async () => {
    fake.script(up(PRIMARY), hang);
    const { run } = attempts([PRIMARY], { started: clock.now() - 9_500 });
    const t0 = clock.now();
    await rejection(run());
    expect(clock.now() - t0).toBe(500);
  });

  it("gives a stream's headers their own limit, then fails over, counting the timeout for the circuit", async () => {
    fake.script(up(PRIMARY), hang);
    fake.script(up(FALLBACK), ({ signal }) => {
      const s = openStream(signal);
      s.send(ROLE + token("hi"));
      return s.response;
    });
    const { run, health } = attempts([PRIMARY, FALLBACK], { stream: true });
    const t0 = clock.now();
    const served = await run();
    expect(served.planned.model.id).toBe(FALLBACK);
    expect(fake.calls.map((c) => [c.model, c.at - t0])).toEqual([[up(PRIMARY), 0], [up(FALLBACK), 1_000]]);
    expect(failed(health)).toEqual([PRIMARY]);
    served.release();
  });

  it("holds a stream until its first token: a role chunk and then silence fails over at the first-token limit", async () => {
    fake.script(up(PRIMARY), ({ signal }) => {
      const s = openStream(signal);
      s.send(ROLE);
      return s.response;
    });
    fake.script(up(FALLBACK), ({ signal }) => {
      const s = openStream(signal);
      s.send(ROLE + token("from the fallback") + DONE);
      s.end();
      return s.response;
    });
    const { run, health, log } = attempts([PRIMARY, FALLBACK], { stream: true });
    const t0 = clock.now();
    const served = await run();
    expect(served.planned.model.id).toBe(FALLBACK);
    expect(fake.calls.map((c) => c.at - t0)).toEqual([0, 2_000]);
    expect(log[0]).toMatchObject({ ok: false, error: expect.stringContaining("no first token") });
    expect(failed(health)).toEqual([PRIMARY]);
    const first = await served.chunks.read();
    expect(new TextDecoder().decode(first.value)).toContain("from the fallback");
    served.release();
  });

  it("does not count a limit the client lowered against the provider, and bills the prompt it abandoned", async () => {
    fake.script(up(PRIMARY), hang);
    const abandoned: PlannedAttempt[] = [];
    const { run, health } = attempts([PRIMARY], {
      stream: true,
      timeouts: { ...LIMITS, headers: 500 },
      onAbandoned: (p) => abandoned.push(p),
    });
    const t0 = clock.now();
    const err = await rejection(run());
    expect(err.code).toBe("upstream_timeout");
    expect(clock.now() - t0).toBe(500);
    expect(health.reports).toEqual([]);
    expect(abandoned.map((p) => p.model.id)).toEqual([PRIMARY]);
  });
});

describe("runAttempts: the client going away", () => {
  it("stops at once, is not counted against the provider, and bills the prompt it abandoned", async () => {
    fake.script(up(PRIMARY), hang);
    fake.script(up(FALLBACK), () => okJson());
    const client = new AbortController();
    const abandoned: string[] = [];
    const { input, health } = attempts([PRIMARY, FALLBACK], { clientSignal: client.signal, onAbandoned: (p) => abandoned.push(p.model.id) });
    const p = runAttempts(input);
    await clock.until(() => fake.calls.length === 1);
    client.abort();
    const err = await rejection(p);
    expect(err.code).toBe("request_timeout");
    expect(fake.callsTo(up(FALLBACK))).toBe(0);
    expect(health.reports).toEqual([]);
    expect(abandoned).toEqual([PRIMARY]);
  });

  it("stops during a retry's pause without trying again", async () => {
    fake.script(up(PRIMARY), () => errorResponse(503));
    const client = new AbortController();
    const { input } = attempts([PRIMARY], { clientSignal: client.signal });
    const p = runAttempts(input);
    await clock.until(() => fake.calls.length === 1 && clock.pending === 1);
    client.abort();
    const err = await rejection(p);
    expect(err.code).toBe("request_timeout");
    expect(fake.calls).toHaveLength(1);
  });
});

describe("time limits", () => {
  const model = (reasoning: boolean) => ({ capabilities: { reasoning } }) as any;
  it("defaults fit interactive use: first token 15 s (120 s for models that reason first), idle 20 s", () => {
    const d = upstreamTimeouts({} as Env);
    expect(effectiveTimeouts({}, {}, model(false), d)).toEqual({ headers: 15_000, first_token: 15_000, idle: 20_000, total: 300_000 });
    expect(effectiveTimeouts({}, {}, model(true), d).first_token).toBe(120_000);
  });

  it("a policy may raise them; a request may only lower them", () => {
    const d = upstreamTimeouts({} as Env);
    const policy = { first_token: 40_000, idle: 60_000 };
    expect(effectiveTimeouts(policy, policy, model(false), d)).toMatchObject({ first_token: 40_000, idle: 60_000 });
    // The request asked for more than the gateway's own limits (no policy): it gets the gateway's.
    expect(effectiveTimeouts({ first_token: 50_000, idle: 5_000 }, {}, model(false), d)).toMatchObject({ first_token: 15_000, idle: 5_000 });
  });
});
