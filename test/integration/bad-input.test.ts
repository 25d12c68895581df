import { describe, expect, it } from "vitest";
import { expectError, gw, newTeamKey, uniqueTag, upstreamLog } from "./helpers";

/*
 * Input a client controls that a provider must never see: each is refused with the usual error body, and the
 * fake provider is asked (by tag) whether anything reached it.
 */

const MINI = "openai/gpt-4o-mini";
const CLAUDE = "anthropic/claude-haiku-4.5";

type Path = "/v1/chat/completions" | "/v1/messages" | "/v1/messages/count_tokens";

function post(path: Path, key: string, body: BodyInit, headers: Record<string, string> = {}): Promise<Response> {
  return gw(path, { method: "POST", body, headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers } });
}

/** A chat body for the OpenAI or the Anthropic route, its prompt carrying the tag. */
function bodyFor(path: Path, tag: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const prompt = `hello [[tag=${tag}]]`;
  return path === "/v1/chat/completions"
    ? { model: MINI, messages: [{ role: "user", content: prompt }], ...extra }
    : { model: CLAUDE, max_tokens: 16, messages: [{ role: "user", content: prompt }], ...extra };
}

async function expectRefused(r: Response, status: number, code: string, tag: string, path: Path = "/v1/chat/completions"): Promise<Record<string, any>> {
  let e: Record<string, any>;
  if (path === "/v1/chat/completions") e = await expectError(r, status, code);
  else {
    const text = await r.text();
    expect(r.status, text).toBe(status);
    e = JSON.parse(text).error;
    expect(e.code).toBe(code);
  }
  expect(await upstreamLog(tag), `nothing reaches the provider for ${tag}`).toEqual([]);
  return e;
}

const ROUTES: Path[] = ["/v1/chat/completions", "/v1/messages"];

describe("bad input never reaches a provider", () => {
  it("a body not declared JSON → 400; JSON with parameters, or no content type, is served", async () => {
    const k = await newTeamKey();
    for (const path of ROUTES) {
      for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/jsonp", "multipart/form-data; boundary=x"]) {
        const tag = uniqueTag("ctype");
        const e = await expectRefused(await post(path, k.key, JSON.stringify(bodyFor(path, tag)), { "content-type": type }), 400, "bad_request", tag, path);
        expect(e.message).toMatch(/content-type must be application\/json/);
      }
      for (const type of ["application/json; charset=utf-8", "Application/JSON"]) {
        const r = await post(path, k.key, JSON.stringify(bodyFor(path, uniqueTag("ctype-ok"))), { "content-type": type });
        expect(r.status, await r.text()).toBe(200);
      }
      const bytes = new TextEncoder().encode(JSON.stringify(bodyFor(path, uniqueTag("ctype-none"))));
      const r = await gw(path, { method: "POST", headers: { authorization: `Bearer ${k.key}` }, body: bytes });
      expect(r.status, await r.text()).toBe(200);
    }
    const tag = uniqueTag("ctype-count");
    await expectRefused(await post("/v1/messages/count_tokens", k.key, JSON.stringify(bodyFor("/v1/messages", tag)), { "content-type": "text/plain" }), 400, "bad_request", tag, "/v1/messages/count_tokens");
  });

  it("invalid UTF-8 anywhere in the body → 400", async () => {
    const k = await newTeamKey();
    for (const path of ROUTES) {
      for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80] /* an encoded surrogate */, [0xf8, 0x88, 0x80, 0x80, 0x80]]) {
        const tag = uniqueTag("utf8");
        const text = JSON.stringify(bodyFor(path, tag, { metadata_x: "AB" }));
        const at = text.indexOf("AB") + 1;
        const enc = new TextEncoder();
        const bytes = new Uint8Array([...enc.encode(text.slice(0, at)), ...bad, ...enc.encode(text.slice(at))]);
        const e = await expectRefused(await post(path, k.key, bytes), 400, "invalid_json", tag, path);
        expect(e.message).toMatch(/UTF-8/);
      }
    }
  });

  it("a lone surrogate escape in any string or key → 400; a pair, or an escaped backslash before u, is fine", async () => {
    const k = await newTeamKey();
    for (const path of ROUTES) {
      const tagged = (tag: string, raw: string) => JSON.stringify(bodyFor(path, tag)).replace(/}$/, `,${raw}}`);
      for (const raw of ['"x_note":"a\\ud800b"', '"x_note":"\\uDFFF"', '"x\\udbff":1', '"x_note":["\\ud83d"]', '"x_note":"\\ude00\\ud83d"']) {
        const tag = uniqueTag("surrogate");
        const e = await expectRefused(await post(path, k.key, tagged(tag, raw)), 400, "invalid_json", tag, path);
        expect(e.message).toMatch(/surrogate/);
      }
      for (const raw of ['"x_note":"\\ud83d\\ude00"', '"x_note":"\\\\ud800"']) {
        const r = await post(path, k.key, tagged(uniqueTag("surrogate-ok"), raw));
        expect(r.status, `${raw}: ${await r.text()}`).toBe(200);
      }
    }
    // In the prompt itself.
    const tag = uniqueTag("surrogate-prompt");
    const body = JSON.stringify(bodyFor("/v1/chat/completions", tag)).replace("hello", "hel\\udc00lo");
    await expectRefused(await post("/v1/chat/completions", k.key, body), 400, "invalid_json", tag);
  });

  it("a content part whose text is not a string → 400", async () => {
    const k = await newTeamKey();
    for (const path of ROUTES) {
      for (const text of [{ a: 1 }, 42, ["x"], null, true]) {
        const tag = uniqueTag("part");
        const content = [{ type: "text", text: `hi [[tag=${tag}]]` }, { type: "text", text }];
        const body = { ...bodyFor(path, tag), messages: [{ role: "user", content }] };
        const e = await expectRefused(await post(path, k.key, JSON.stringify(body)), 400, "bad_request", tag, path);
        expect(e.message).toMatch(/^messages\[0\]\.content\[1\]\.text: /);
      }
    }
    // A system block and a tool result's block, on the Anthropic route.
    for (const extra of [
      { system: [{ type: "text", text: 7 }] },
      {
        messages: [
          { role: "user", content: "x" },
          { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "f", input: {} }] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: { no: 1 } }] }, { type: "text", text: "[[tag=@]]" }] },
        ],
      },
    ]) {
      const tag = uniqueTag("part-anthropic");
      const body = JSON.parse(JSON.stringify({ ...bodyFor("/v1/messages", tag), ...extra }).replace("[[tag=@]]", `[[tag=${tag}]]`));
      await expectRefused(await post("/v1/messages", k.key, JSON.stringify(body)), 400, "bad_request", tag, "/v1/messages");
    }
  });

  it("nesting deeper than 64 levels in any field → 400; 60 levels is served", async () => {
    const k = await newTeamKey();
    const nest = (n: number) => "[".repeat(n) + "]".repeat(n);
    const deepObject = (n: number): unknown => (n === 0 ? {} : { p: deepObject(n - 1) });
    for (const path of ROUTES) {
      for (const extra of [
        { x_unknown: JSON.parse(nest(100)) },
        { x_unknown: JSON.parse(nest(65)) },
        { tools: [{ type: "function", name: "f", input_schema: deepObject(80), function: { name: "f", parameters: deepObject(80) } }] },
      ]) {
        const tag = uniqueTag("deep");
        const e = await expectRefused(await post(path, k.key, JSON.stringify(bodyFor(path, tag, extra))), 400, "invalid_json", tag, path);
        expect(e.message).toMatch(/deeper than 64/);
      }
      // Brackets inside strings are text, not nesting.
      const r = await post(path, k.key, JSON.stringify(bodyFor(path, uniqueTag("deep-ok"), { x_unknown: JSON.parse(nest(58)), x_text: "[{".repeat(500) + '\\"[' })));
      expect(r.status, await r.text()).toBe(200);
    }
    // Deep enough to exhaust a recursive parser or serializer: still a 400, never a 500.
    const tag = uniqueTag("deep-huge");
    const huge = JSON.stringify(bodyFor("/v1/chat/completions", tag)).replace(/}$/, `,"x":${nest(30_000)}}`);
    await expectRefused(await post("/v1/chat/completions", k.key, huge), 400, "invalid_json", tag);
  });

  it("request headers over 32 KiB in total → 431, before anything else", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("headers");
    const headers: Record<string, string> = {};
    for (let i = 0; i < 6; i++) headers[`x-filler-${i}`] = "h".repeat(6_000);
    const r = await post("/v1/chat/completions", k.key, JSON.stringify(bodyFor("/v1/chat/completions", tag)), headers);
    const e = await expectRefused(r, 431, "headers_too_large", tag);
    expect(e.message).toMatch(/32768/);
    // Under the bound is served.
    const ok = await post("/v1/chat/completions", k.key, JSON.stringify(bodyFor("/v1/chat/completions", uniqueTag("headers-ok"))), { "x-filler": "h".repeat(20_000) });
    expect(ok.status, await ok.text()).toBe(200);
  });

  it("a key followed by anything but spaces or tabs does not authenticate", async () => {
    const k = await newTeamKey();
    const body = () => JSON.stringify(bodyFor("/v1/chat/completions", uniqueTag("auth")));
    for (const suffix of ["\x0b", "\x0c", "\x0bjunk", "\u00a0", "\u2028", " x", "\x01"]) {
      const tries: Record<string, string>[] = [{ authorization: `Bearer ${k.key}${suffix}` }, { authorization: "", "x-api-key": `${k.key}${suffix}` }];
      for (const h of tries) {
        const r = await post("/v1/chat/completions", k.key, body(), h);
        expect(r.status, `${JSON.stringify(h)}: ${await r.text()}`).toBe(401);
      }
    }
    const fine: Record<string, string>[] = [{ authorization: `Bearer \t${k.key} \t` }, { authorization: "", "x-api-key": ` ${k.key}\t` }];
    for (const h of fine) {
      const r = await post("/v1/chat/completions", k.key, body(), h);
      expect(r.status, `${JSON.stringify(h)}: ${await r.text()}`).toBe(200);
    }
  });

  it("a body that stops arriving → 408 after BODY_TIMEOUT_MS, nothing sent upstream", async () => {
    const k = await newTeamKey();
    const tag = uniqueTag("slow");
    const text = JSON.stringify(bodyFor("/v1/chat/completions", tag));
    const slow = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(text.slice(0, 40)));
      },
    });
    const e = await expectRefused(await post("/v1/chat/completions", k.key, slow), 408, "request_timeout", tag);
    expect(e.message).toMatch(/did not arrive within 1500 ms/);
  });
});
