import { describe, expect, it } from "vitest";
import { AttemptError } from "../../../src/core/errors";
import { classifyFailure, decide, MIN_SPACING_MS, retryDelay, RETRY_AFTER_CAP_MS } from "../../../src/routing/retry";

describe("retry decisions", () => {
  it("backoff: jittered exponential, never under the minimum spacing; Retry-After honoured up to the cap", () => {
    expect(retryDelay(1, undefined, () => 0)).toBe(MIN_SPACING_MS);
    expect(retryDelay(1, undefined, () => 1)).toBe(400);
    expect(retryDelay(2, undefined, () => 0)).toBe(400);
    expect(retryDelay(2, undefined, () => 1)).toBe(800);
    expect(retryDelay(10, undefined, () => 1)).toBe(4000);
    expect(retryDelay(1, 1000)).toBe(1000);
    expect(retryDelay(1, 0)).toBe(MIN_SPACING_MS);
    expect(retryDelay(1, RETRY_AFTER_CAP_MS + 1)).toBeNull();
  });

  it("classifies what no retry can fix", () => {
    expect(classifyFailure(400, "context_length_exceeded", "x")).toBe("context_length");
    expect(classifyFailure(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum")).toBe("context_length");
    expect(classifyFailure(400, undefined, "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).")).toBe("context_length");
    expect(classifyFailure(400, "content_policy_violation", "rejected")).toBe("content_policy");
    expect(classifyFailure(400, "content_filter", "The response was filtered")).toBe("content_policy");
    expect(classifyFailure(400, "invalid_request_error", "temperature must be at most 2")).toBeNull();
    expect(classifyFailure(503, undefined, "context length")).toBeNull();
    const http = (s: number) => new AttemptError(s, "", "http");
    expect([408, 429, 500, 502, 503, 504, 529].map((s) => decide(http(s), null))).toEqual(Array(7).fill("retry"));
    expect([401, 403, 404].map((s) => decide(http(s), null))).toEqual(["next", "next", "next"]);
    expect(decide(http(400), null)).toBe("stop");
    expect(decide(http(400), "context_length")).toBe("next");
    expect(decide(http(400), "content_policy")).toBe("stop");
    expect(decide(new AttemptError(0, "", "timeout"), null)).toBe("next");
    expect(decide(new AttemptError(0, "", "unreachable"), null)).toBe("retry");
  });
});
