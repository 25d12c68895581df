import { describe, expect, it } from "vitest";
import { GatewayError } from "../../../src/http/errors";
import { AttemptError } from "../../../src/providers/upstream";
import { readFailure } from "../../../src/streaming/client-pipe";

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
