import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Env } from "../../../src/env";
import { admit, healthLookup, releaseProbe, reportOutcome, resetLocalHealth } from "../../../src/routing/health";
import type { Health } from "../../../src/routing/health-do";
import { ManualClock } from "../../support/manual-clock";

/* The isolate's circuit breakers and the shared probe claim, on a clock the test moves. */
const CFG = { CIRCUIT_FAILURES: "3", CIRCUIT_OPEN_MS: "1000" } as unknown as Env;
const P = "openai";
const M = "openai/gpt-4o-mini";

let clock: ManualClock;
beforeEach(() => {
  clock = new ManualClock().install();
  resetLocalHealth();
});
afterEach(() => {
  clock.uninstall();
  resetLocalHealth();
});

const fail = (probe = false) => reportOutcome(CFG, undefined, P, M, { ok: false, probe });
const trip = () => [1, 2, 3].forEach(() => fail());

describe("admission through the isolate's breaker", () => {
  it("sends traffic while closed, none while open, one probe once the open period is over", async () => {
    fail();
    fail();
    expect(admit(P, M)).toBe("go");
    fail();
    expect(admit(P, M)).toBe("skip");
    await clock.advance(999);
    expect(admit(P, M)).toBe("skip");
    await clock.advance(1);
    expect(admit(P, M)).toBe("probe");
    // The probe is in flight: everyone else keeps off.
    expect(admit(P, M)).toBe("skip");
    expect(healthLookup()(P, M)?.circuit).toBe("probing");
  });

  it("a probe given back without an outcome lets the next caller probe", async () => {
    trip();
    await clock.advance(1_000);
    expect(admit(P, M)).toBe("probe");
    expect(admit(P, M)).toBe("skip");
    releaseProbe(P, M);
    expect(admit(P, M)).toBe("probe");
  });

  it("a failed probe opens the circuit for twice as long; a successful one closes it", async () => {
    trip();
    await clock.advance(1_000);
    expect(admit(P, M)).toBe("probe");
    fail(true);
    await clock.advance(1_999);
    expect(admit(P, M)).toBe("skip");
    await clock.advance(1);
    expect(admit(P, M)).toBe("probe");
    reportOutcome(CFG, undefined, P, M, { ok: true, probe: true });
    expect(admit(P, M)).toBe("go");
    expect(admit(P, M)).toBe("go");
  });

  it("told that another isolate holds the probe, keeps off for a moment, then asks again", async () => {
    trip();
    await clock.advance(1_000);
    const elsewhere = async () => ({ granted: false, record: null });
    expect(await admit(P, M, clock.now(), elsewhere)).toBe("skip");
    await clock.advance(249);
    expect(admit(P, M, clock.now(), elsewhere)).toBe("skip");
    await clock.advance(1);
    expect(await admit(P, M, clock.now(), async () => ({ granted: true, record: null }))).toBe("probe");
  });
});

describe("the shared probe claim (Health object)", () => {
  it("grants one holder at a time; another holder's claim lapses after its time", async () => {
    const stub = env.HEALTH!.get(env.HEALTH!.idFromName(`claims-${crypto.randomUUID()}`));
    await runInDurableObject(stub, async (instance) => {
      const health = instance as unknown as Health;
      expect(health.claimProbe("k", 60_000, "a").granted).toBe(true);
      expect(health.claimProbe("k", 60_000, "b").granted).toBe(false);
      // The holder may claim again: its own probe ended before its report arrived.
      expect(health.claimProbe("k", 60_000, "a").granted).toBe(true);
      await clock.advance(59_999);
      expect(health.claimProbe("k", 60_000, "b").granted).toBe(false);
      await clock.advance(1);
      expect(health.claimProbe("k", 60_000, "b").granted).toBe(true);
      health.releaseProbe("k");
      expect(health.claimProbe("k", 60_000, "c").granted).toBe(true);
    });
  });
});
