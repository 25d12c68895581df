import { describe, expect, it } from "vitest";
import { chat, eventually, expectError, generationOf, gw, newTeamKey, uniqueTag, upstreamLog, usageOf, userMsg } from "./helpers";

const MINI = "openai/gpt-4o-mini";

function post(key: string, body: string, headers: Record<string, string> = {}) {
  return gw("/v1/chat/completions", { method: "POST", key, body, headers: { "content-type": "application/json", ...headers } });
}

describe("errors: the request", () => {
  it("malformed JSON → 400 invalid_json", async () => {
    const k = await newTeamKey();
    const e = await expectError(await post(k.key, '{"model": "mock/echo", '), 400, "invalid_json");
    expect(e.message).toMatch(/^request body is not valid JSON: /);
    const e2 = await expectError(await post(k.key, ""), 400, "invalid_json");
    expect(e2.message).toBe("request body is empty; send a JSON object");
  });

  it("an invalid body → 400 naming the field", async () => {
    const k = await newTeamKey();
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ model: "mock/echo" }, "messages", /^messages: /],
      [{ model: "mock/echo", messages: [] }, "messages", /^messages: at least one message is required$/],
      [{ messages: userMsg("hi") }, "model", /^model: model is required$/],
      [{ model: "mock/echo", messages: [{ role: "robot", content: "hi" }] }, "messages[0].role", /^messages\[0\]\.role: /],
      [{ model: "mock/echo", messages: userMsg("hi"), temperature: 5 }, "temperature", /^temperature: /],
      [{ model: "mock/echo", messages: userMsg("hi"), stream: "yes" }, "stream", /^stream: /],
    ];
    for (const [body, param, message] of cases) {
      const e = await expectError(await chat(k.key, body), 400, "bad_request");
      expect(e.param, JSON.stringify(body)).toBe(param);
      expect(e.message).toMatch(message);
    }
    const e = await expectError(await post(k.key, "[1,2]"), 400, "bad_request");
    expect(e.param).toBe("body");
  });

  it("an unknown model → 404 with suggestions", async () => {
    const k = await newTeamKey();
    const e = await expectError(await chat(k.key, { model: "openai/gpt-4o-mnii", messages: userMsg("hi") }), 404, "model_not_found");
    expect(e.message).toMatch(/^model openai\/gpt-4o-mnii is not in the catalog; did you mean openai\/gpt-4o-mini, /);
    expect(e.unknown).toEqual([{ model: "openai/gpt-4o-mnii", suggestions: expect.arrayContaining(["openai/gpt-4o-mini"]) }]);
    expect(e.unknown[0].suggestions[0]).toBe("openai/gpt-4o-mini");
  });

  it("a wrong method → 405 with Allow, before auth", async () => {
    const r = await gw("/v1/chat/completions");
    const e = await expectError(r, 405, "method_not_allowed");
    expect(r.headers.get("allow")).toBe("POST");
    expect(e.message).toBe("GET is not allowed on /v1/chat/completions; use POST");
    const r2 = await gw("/v1/usage", { method: "DELETE" });
    await expectError(r2, 405, "method_not_allowed");
    expect(r2.headers.get("allow")).toBe("GET");
  });

  it("never answers 405 to a method the path allows", async () => {
    const served: [string, string][] = [
      ["POST", "/v1/chat/completions"],
      ["POST", "/v1/messages"],
      ["GET", "/v1/models"],
      ["GET", "/v1/usage"],
      ["GET", "/v1/usage/export"],
      ["GET", "/v1/generation"],
      ["GET", "/v1/key"],
    ];
    for (const [method, path] of served) {
      const r = await gw(path, { method, body: method === "POST" ? "{}" : undefined });
      await r.body?.cancel();
      expect(r.status, `${method} ${path}`).not.toBe(405);
      expect(r.status, `${method} ${path}`).toBeLessThan(500);
    }
  });

  it("an unknown route → 404", async () => {
    for (const path of ["/", "/v2/chat/completions", "/v1/chat/completions/extra", "/favicon.ico"]) {
      const e = await expectError(await gw(path), 404, "not_found");
      expect(e.message).toBe(`no route for GET ${path}`);
    }
  });

  it("a body over MAX_BODY_BYTES → 413, declared or streamed", async () => {
    const k = await newTeamKey();
    const big = JSON.stringify({ model: "mock/echo", messages: userMsg("x".repeat(65_536)) });
    const e = await expectError(await post(k.key, big), 413, "payload_too_large");
    expect(e.message).toBe("request body exceeds 65536 bytes");

    const bytes = new TextEncoder().encode(big);
    const streamed = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 8192) c.enqueue(bytes.slice(i, i + 8192));
        c.close();
      },
    });
    await expectError(await post(k.key, streamed as unknown as string), 413, "payload_too_large");

    // Just under the limit is fine.
    const fits = JSON.stringify({ model: "mock/echo", messages: userMsg("y".repeat(65_000)) });
    expect((await post(k.key, fits)).status).toBe(200);
  });
});

describe("errors: the provider", () => {
  it("unreachable (connection reset) → 502", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("err-reset");
    const r = await chat(k.key, { model: MINI, messages: userMsg(`[[tag=${tag};reset=1]]`) });
    const e = await expectError(r, 502, "upstream_unreachable");
    expect(e.message).toMatch(/^openai: could not reach the provider: /);
    expect(e.provider).toBe("openai");
    const g = await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    expect(g).toMatchObject({ status: "error", cost_exact: "0.000000000000" });
    // One try, or more where the policy retries: each one refused, none billed.
    expect(g.attempts.length).toBeGreaterThanOrEqual(1);
    for (const a of g.attempts) {
      expect(a).toEqual({ provider: "openai", model: MINI, status: 0, ok: false, error: e.message.replace(/^openai: /, ""), latency_ms: expect.any(Number) });
    }
  });

  it("no response headers within UPSTREAM_HEADERS_TIMEOUT_MS → 504, and the call is abandoned", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("err-hang");
    const t0 = Date.now();
    const r = await chat(k.key, { model: MINI, messages: userMsg(`[[tag=${tag};hang=1]]`), stream: true });
    const e = await expectError(r, 504, "upstream_timeout");
    expect(e.message).toBe("no response from openai within 1000 ms");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    const [up] = await eventually(async () => {
      const log = await upstreamLog(tag);
      return log[0]?.closed_at ? log : null;
    });
    expect(up!.completed).toBe(false);
  });

  it("a 4xx → the provider's status and message, in our shape", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("err-400");
    const msg = "Invalid value for 'response_format': expected an object.";
    const e = await expectError(await chat(k.key, { model: MINI, messages: userMsg(`[[tag=${tag};status=400;error_message=${msg}]]`) }), 400, "bad_request");
    expect(e.message).toBe(`openai: ${msg}`);
    const e2 = await expectError(
      await chat(k.key, { model: MINI, messages: userMsg(`[[tag=${tag};status=404;error_message=no such model]]`), stream: true }),
      404,
      "bad_request",
    );
    expect(e2.message).toBe("openai: no such model");
  });

  it("a 429 → 429 with the provider's Retry-After", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("err-429");
    const r = await chat(k.key, { model: MINI, messages: userMsg(`[[tag=${tag};status=429;retry_after=7;error_message=slow down]]`) });
    const e = await expectError(r, 429, "rate_limited");
    expect(e.message).toBe("openai: slow down");
    expect(r.headers.get("retry-after")).toBe("7");
  });

  it("a 401 from the provider is the gateway's problem → 502, never the client's 401", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("err-401");
    const e = await expectError(await chat(k.key, { model: MINI, messages: userMsg(`[[tag=${tag};status=401;error_message=bad key]]`) }), 502, "upstream_error");
    // The provider's words stay out: they may quote the key it was sent.
    expect(e.message).toBe("openai rejected the gateway's credentials (401)");
  });

  it("does not hold an error answer for the usage write", async () => {
    // The first event of a team opens a batch written after 100 ms (ledger/batcher.ts): an error that waited
    // for that write would take at least as long.
    let fastest = Infinity;
    for (let i = 0; i < 3; i++) {
      const k = await newTeamKey();
      const t0 = Date.now();
      const r = await chat(k.key, { model: MINI, messages: userMsg(`[[tag=${uniqueTag("err-fast")};status=400]]`) });
      await r.text();
      fastest = Math.min(fastest, Date.now() - t0);
      expect(r.status).toBe(400);
      await eventually(() => generationOf(k.key, r.headers.get("x-request-id")!));
    }
    expect(fastest).toBeLessThan(100);
  });

  it("a 5xx → 502, streamed or not", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("err-500");
    for (const stream of [false, true]) {
      const r = await chat(k.key, { model: MINI, messages: userMsg(`[[tag=${tag};status=500;error_message=boom]]`), stream });
      const e = await expectError(r, 502, "upstream_error");
      expect(e.message).toBe("openai failed (500): boom");
    }
    expect((await usageOf(k.key)).totals.requests).toBe(0);
  });
});
