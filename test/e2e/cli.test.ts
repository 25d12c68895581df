import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, freshState, gatewayOn, type LocalGateway } from "./gateway";

/** The admin CLI writing the local state a running gateway serves from (`--persist-to`, as `npm run dev` shares it). */
let gateway: LocalGateway;
let persistTo: string;
const TEAM = "t";

function chat(key: string): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "made by the CLI" }] }),
  });
}

async function ok(args: string[]): Promise<string> {
  const r = await cli([...args, "--persist-to", persistTo]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

beforeAll(async () => {
  persistTo = freshState();
  expect(await ok(["teams", "create", TEAM])).toBe(`created team ${TEAM}`); // applies the migrations first
  gateway = await gatewayOn(persistTo, { MOCK_PROVIDER: "on", KEY_CACHE_TTL_SECONDS: "1" });
});

afterAll(async () => {
  await gateway?.stop();
});

describe("switchyard CLI against a running gateway", () => {
  let created: { key: string; keyId: string; team: string; scopes: string[]; expiresAt: string | null };

  it("creates a key that works at once", async () => {
    created = JSON.parse(await ok(["keys", "create", "--team", TEAM, "--name", "ci", "--json"]));
    expect(created).toEqual({ key: expect.stringMatching(/^sk-sy-[A-Za-z0-9_-]{43}$/), keyId: expect.stringMatching(/^k_[A-Za-z0-9]{12}$/), team: TEAM, scopes: ["inference", "usage:read"], expiresAt: null });
    const r = await chat(created.key);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe("made by the CLI");
  });

  it("lists it, without the key itself", async () => {
    const out = await ok(["keys", "list", "--team", TEAM, "--json"]);
    expect(out).not.toContain(created.key);
    const keys = JSON.parse(out) as Record<string, unknown>[];
    expect(keys).toEqual([
      {
        keyId: created.keyId,
        name: "ci",
        prefix: `${created.key.slice(0, 10)}…`,
        scopes: ["inference", "usage:read"],
        createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
        expiresAt: null,
        revokedAt: null,
      },
    ]);
  });

  it("revokes it: 401 within the key cache TTL, and listed as revoked", async () => {
    expect(await ok(["keys", "revoke", created.keyId])).toBe(`revoked ${created.keyId}`);
    const revokedAt = Date.now();
    let status = 0;
    let body: { error?: { code: string; message: string } } = {};
    while (Date.now() - revokedAt < 15_000) {
      const r = await chat(created.key);
      status = r.status;
      body = (await r.json()) as typeof body;
      if (status === 401) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(status).toBe(401);
    expect(body.error).toMatchObject({ code: "unauthorized", message: "this API key has been revoked" });
    // KEY_CACHE_TTL_SECONDS is 1 here: revoked within that, plus polling and what a busy machine adds; never
    // as long as a cache without expiry would keep it.
    expect(Date.now() - revokedAt).toBeLessThan(12_000);

    const keys = JSON.parse(await ok(["keys", "list", "--team", TEAM, "--json"])) as { keyId: string; revokedAt: string | null }[];
    expect(keys).toHaveLength(1);
    expect(keys[0]!.keyId).toBe(created.keyId);
    expect(Date.parse(keys[0]!.revokedAt!)).toBeGreaterThan(revokedAt - 60_000);
  });

  it("creates the team of a key when it does not exist yet, and the key works", async () => {
    const r = await cli(["keys", "create", "--team", "fresh-team", "--json", "--persist-to", persistTo]);
    expect(r.code).toBe(0);
    expect(r.stderr.trim()).toBe("created team fresh-team");
    const created = JSON.parse(r.stdout) as { key: string; team: string };
    expect(created.team).toBe("fresh-team");
    const res = await chat(created.key);
    expect(res.status).toBe(200);
    await res.body?.cancel();
  });
});
