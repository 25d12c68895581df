import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { generateKey, hashKey, kvKeyName, type KeyRecord } from "../../src/auth/keys";
import { chat, eventually, expectError, gw, newTeamKey, userMsg } from "./helpers";

const TTL_MS = Number(env.KEY_CACHE_TTL_SECONDS) * 1000;

async function keyInfo(headers: Record<string, string>) {
  return gw("/v1/key", { headers });
}

/** Revokes a key the way `switchyard keys revoke` does: revoked_at in D1, and the KV record overwritten. */
async function revoke(key: string, id: string): Promise<void> {
  const now = Date.now();
  await env.DB.prepare("UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2").bind(now, id).run();
  const hash = await hashKey(key);
  const rec = (await env.KV.get<KeyRecord>(kvKeyName(hash), "json"))!;
  await env.KV.put(kvKeyName(hash), JSON.stringify({ ...rec, revoked_at: now }));
}

describe("auth", () => {
  it("accepts Authorization: Bearer and reports the calling key", async () => {
    const k = await newTeamKey();
    const r = await keyInfo({ authorization: `Bearer ${k.key}` });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-request-id")).toMatch(/^gen-\d+-[0-9a-f]{20}$/);
    const body = (await r.json()) as { data: Record<string, unknown> };
    expect(body.data).toMatchObject({
      key_id: k.id,
      label: null,
      team: k.team,
      scopes: ["inference", "usage:read"],
      expires_at: null,
      usage: 0,
      usage_exact: "0.000000000000",
      requests: 0,
    });
  });

  it("accepts x-api-key, for chat too", async () => {
    const k = await newTeamKey();
    const r = await keyInfo({ "x-api-key": k.key });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { data: { key_id: string } }).data.key_id).toBe(k.id);
    const c = await gw("/v1/chat/completions", {
      method: "POST",
      headers: { "x-api-key": k.key },
      json: { model: "mock/echo", messages: userMsg("via x-api-key") },
    });
    expect(c.status).toBe(200);
    expect(((await c.json()) as any).choices[0].message.content).toBe("via x-api-key");
  });

  it("answers a missing key with 401 in the error shape", async () => {
    const r = await chat("", { model: "mock/echo", messages: userMsg("hi") });
    const e = await expectError(r, 401, "unauthorized");
    expect(e).toEqual({
      code: "unauthorized",
      message: "missing API key: send Authorization: Bearer <key> or x-api-key",
      type: "authentication_error",
      request_id: r.headers.get("x-request-id"),
    });
  });

  it("answers an unknown or malformed key with 401", async () => {
    for (const key of [generateKey(), "sk-sy-short", "not-a-key"]) {
      const e = await expectError(await chat(key, { model: "mock/echo", messages: userMsg("hi") }), 401, "unauthorized");
      expect(e.message).toBe("invalid API key");
    }
    const e = await expectError(await keyInfo({ authorization: "Basic dXNlcjpwYXNz" }), 401, "unauthorized");
    expect(e.message).toMatch(/^missing API key/);
  });

  it("stops accepting a revoked key within the key cache TTL", async () => {
    const k = await newTeamKey();
    expect((await keyInfo({ authorization: `Bearer ${k.key}` })).status).toBe(200); // now cached in the isolate
    await revoke(k.key, k.id);
    // The isolate's cache may answer for up to the TTL: look until it no longer does.
    const refused = await eventually(async () => {
      const r = await keyInfo({ authorization: `Bearer ${k.key}` });
      if (r.status === 401) return r;
      await r.body?.cancel();
      return null;
    }, TTL_MS + 5_000);
    const e = await expectError(refused, 401, "unauthorized");
    expect(e.message).toBe("this API key has been revoked");
    await expectError(await chat(k.key, { model: "mock/echo", messages: userMsg("hi") }), 401, "unauthorized");
  });

  it("rejects an expired key, and one that expires while cached", async () => {
    const expired = await newTeamKey({ expiresAt: Date.now() - 1000 });
    const e = await expectError(await chat(expired.key, { model: "mock/echo", messages: userMsg("hi") }), 401, "unauthorized");
    expect(e.message).toBe("this API key has expired");

    const soon = await newTeamKey({ expiresAt: Date.now() + 400 });
    expect((await keyInfo({ authorization: `Bearer ${soon.key}` })).status).toBe(200);
    // Expiry is checked on every request, not only on a lookup: the cached key stops working once it expires.
    const expiredNow = await eventually(async () => {
      const r = await keyInfo({ authorization: `Bearer ${soon.key}` });
      if (r.status === 401) return r;
      await r.body?.cancel();
      return null;
    });
    const e2 = await expectError(expiredNow, 401, "unauthorized");
    expect(e2.message).toBe("this API key has expired");
  });

  it("answers a key without the inference scope with 403, while its own scope works", async () => {
    const reader = await newTeamKey({ scopes: ["usage:read"] });
    const e = await expectError(await chat(reader.key, { model: "mock/echo", messages: userMsg("hi") }), 403, "forbidden");
    expect(e.message).toBe("this API key lacks the inference scope");
    expect((await gw("/v1/usage", { key: reader.key })).status).toBe(200);

    const caller = await newTeamKey({ scopes: ["inference"] });
    expect((await chat(caller.key, { model: "mock/echo", messages: userMsg("hi") })).status).toBe(200);
    const e2 = await expectError(await gw("/v1/usage", { key: caller.key }), 403, "forbidden");
    expect(e2.message).toBe("this API key lacks the usage:read scope");
  });

  it("finds a key that is only in D1 and backfills it into KV", async () => {
    const k = await newTeamKey({ kv: false, scopes: ["inference"] });
    const name = kvKeyName(await hashKey(k.key));
    expect(await env.KV.get(name)).toBeNull();
    const r = await chat(k.key, { model: "mock/echo", messages: userMsg("from d1") });
    expect(r.status).toBe(200);
    expect(await env.KV.get(name, "json")).toEqual({
      id: k.id,
      team: k.team,
      name: null,
      scopes: ["inference"],
      expires_at: null,
      revoked_at: null,
    });
  });

  it("lets the admin token read a team's usage, but not call models", async () => {
    const k = await newTeamKey();
    const admin = env.ADMIN_TOKEN as string;
    const r = await gw(`/v1/usage?team=${k.team}`, { key: admin });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { team: string }).team).toBe(k.team);
    await expectError(await gw("/v1/usage", { key: admin }), 400, "bad_request");
    await expectError(await chat(admin, { model: "mock/echo", messages: userMsg("hi") }), 401, "unauthorized");
  });
});
