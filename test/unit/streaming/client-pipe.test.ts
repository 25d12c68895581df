import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AttemptError, GatewayError } from "../../../src/core/errors";
import { ClientPipe, readFailure } from "../../../src/streaming/client-pipe";
import { ManualClock } from "../../support/manual-clock";

describe("readFailure: how a stream whose read failed ends", () => {
  it("a time limit is 504, a gateway error keeps its status, anything else is 502", () => {
    expect(readFailure(new Error("aborted"), true, 300)).toEqual({ message: "upstream stream idle for 300 ms", status: 504 });
    expect(readFailure(new AttemptError(0, "stream exceeded the total time limit of 1000 ms", "timeout"), false, 300)).toEqual({
      message: "upstream stream failed: stream exceeded the total time limit of 1000 ms",
      status: 504,
    });
    expect(readFailure(new GatewayError("rate_limited", "openai: slow down"), false, 300)).toEqual({ message: "upstream stream failed: openai: slow down", status: 429 });
    expect(readFailure(new GatewayError("upstream_timeout", "no first token from groq within 300 ms"), false, 300).status).toBe(504);
    expect(readFailure(new TypeError("Network connection lost."), false, 300)).toEqual({ message: "upstream stream failed: Network connection lost.", status: 502 });
    expect(readFailure("reset", false, 300)).toEqual({ message: "upstream stream failed: reset", status: 502 });
  });
});

describe("ClientPipe: the idle watch, on a clock the test moves", () => {
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock().install();
  });
  afterEach(() => clock.uninstall());

  function pipe(live: boolean | undefined = true) {
    const aborted: string[] = [];
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    void readable.pipeTo(new WritableStream());
    const reader = { read: () => new Promise<never>(() => {}), cancel: async () => {}, live };
    const p = new ClientPipe({ reader, writer: writable.getWriter(), abortUpstream: (why) => aborted.push(why), idleMs: 1_000 }, () => {});
    return { p, aborted };
  }
  const bytes = new TextEncoder().encode("data: {}\n\n");

  it("aborts a provider silent for the idle limit since its last chunk, not before", async () => {
    const { p, aborted } = pipe();
    p.chunkArrived();
    await p.write(bytes);
    await clock.until(() => clock.pending === 1);
    await clock.advance(600);
    p.chunkArrived();
    await p.write(bytes);
    await clock.advance(999);
    expect(aborted).toEqual([]);
    await clock.advance(1);
    expect(aborted).toEqual(["no data for 1000 ms"]);
    expect(p.idleFired).toBe(true);
    expect(p.readFailure(new Error("aborted"))).toEqual({ message: "upstream stream idle for 1000 ms", status: 504 });
  });

  it("leaves a stream still waiting for its first token to the first-token limit", async () => {
    const { p, aborted } = pipe(false);
    await p.write(bytes);
    await clock.until(() => clock.pending === 1);
    await clock.advance(5_000);
    expect(aborted).toEqual([]);
  });

  it("stops watching when the stream ends", async () => {
    const { p, aborted } = pipe();
    await p.write(bytes);
    await clock.until(() => clock.pending === 1);
    await p.end();
    expect(clock.pending).toBe(0);
    await clock.advance(5_000);
    expect(aborted).toEqual([]);
  });
});
