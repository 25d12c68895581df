import { describe, expect, it } from "vitest";
import { applyReport, circuitConfig, DEFAULT_CIRCUIT, newRecord, viewOf } from "../../../src/routing/circuit";

describe("circuit breaker transitions", () => {
  const cfg = { ...DEFAULT_CIRCUIT, failures: 3, openMs: 1000 };
  const fail = (at: number, probe = false) => ({ key: "k", at, ok: false, probe });
  it("opens after consecutive failures within the window, half-opens, closes on a probe's success", () => {
    const r = newRecord(0);
    applyReport(r, fail(0), cfg);
    applyReport(r, { key: "k", at: 1, ok: true, probe: false, latencyMs: 100 }, cfg);
    applyReport(r, fail(2), cfg);
    applyReport(r, fail(3), cfg);
    expect(r.state).toBe("closed");
    expect(applyReport(r, fail(4), cfg)).toBe(true);
    expect(viewOf(r, 500, false)).toMatchObject({ circuit: "open", retryAt: 1004 });
    expect(viewOf(r, 1004, false).circuit).toBe("half_open");
    expect(viewOf(r, 1004, true).circuit).toBe("probing");
    applyReport(r, { key: "k", at: 1005, ok: true, probe: false }, cfg); // a straggler, not the probe
    expect(r.state).toBe("open");
    applyReport(r, fail(1010, true), cfg);
    expect(r.openUntil).toBe(1010 + 2000);
    applyReport(r, { key: "k", at: 3100, ok: true, probe: true }, cfg);
    expect(r).toMatchObject({ state: "closed", failures: 0, reopens: 0, latencyMs: 100 });
  });

  it("defaults: the first open period is 5 s, doubling on failed probes up to 5 minutes; a flapping primary is back within 15 s", () => {
    const d = circuitConfig({});
    expect(d).toMatchObject({ failures: 5, openMs: 5_000, maxOpenMs: 300_000 });
    const r = newRecord(0);
    for (let i = 0; i < d.failures; i++) applyReport(r, fail(i * 100), d);
    const opened = 400;
    expect(viewOf(r, opened + d.openMs - 1, false).circuit).toBe("open");
    // Still down at the first probe; it recovers a moment later: the next probe goes within 15 s of that.
    applyReport(r, fail(opened + d.openMs, true), d);
    const recovered = opened + d.openMs + 1;
    expect(viewOf(r, recovered + 15_000, false).circuit).toBe("half_open");
    applyReport(r, { key: "k", at: recovered + 15_000, ok: true, probe: true }, d);
    expect(r.state).toBe("closed");
    // A primary that stays down is probed less and less often, never less than every 5 minutes.
    for (let i = 0; i < d.failures; i++) applyReport(r, fail(100_000 + i), d);
    let at = 100_000;
    for (let n = 0; n < 12; n++) {
      at = r.openUntil;
      applyReport(r, fail(at, true), d);
    }
    expect(r.openUntil - at).toBe(300_000);
    // The test environment's shorter open period scales the cap with it.
    expect(circuitConfig({ CIRCUIT_OPEN_MS: "400" })).toMatchObject({ openMs: 400, maxOpenMs: 24_000 });
  });

  it("failures further apart than the window do not add up", () => {
    const r = newRecord(0);
    for (const at of [0, 70_000, 140_000]) applyReport(r, fail(at), cfg);
    expect(r.state).toBe("closed");
  });
});
