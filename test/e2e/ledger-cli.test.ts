import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, freshState, gatewayOn, type LocalGateway } from "./gateway";

/** `switchyard usage` and `audit verify` read a team's ledger through the running gateway with the admin token. */
const ADMIN = "e2e-admin-token-0123456789";
const TEAM = "spend";
let gateway: LocalGateway;
let persistTo: string;
let key: string;

async function run(args: string[], token: string | null = ADMIN): Promise<{ code: number; stdout: string; stderr: string }> {
  const saved = process.env.SWITCHYARD_ADMIN_TOKEN;
  if (token === null) delete process.env.SWITCHYARD_ADMIN_TOKEN;
  else process.env.SWITCHYARD_ADMIN_TOKEN = token;
  try {
    return await cli([...args, "--persist-to", persistTo]);
  } finally {
    if (saved === undefined) delete process.env.SWITCHYARD_ADMIN_TOKEN;
    else process.env.SWITCHYARD_ADMIN_TOKEN = saved;
  }
}

beforeAll(async () => {
  persistTo = freshState();
  expect((await run(["teams", "create", TEAM])).code).toBe(0);
  key = JSON.parse((await run(["keys", "create", "--team", TEAM, "--json"])).stdout).key;
  gateway = await gatewayOn(persistTo, { MOCK_PROVIDER: "on", ADMIN_TOKEN: ADMIN, AUDIT_SIGNING_KEY: "e2e-audit-signing-key-0123456789" });
  for (const [i, user] of ["ann", "bob", "ann"].entries()) {
    const r = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock/echo", user, messages: [{ role: "user", content: `message number ${i}` }] }),
    });
    expect(r.status).toBe(200);
    await r.text();
  }
  // Usage is written in batches: wait until the ledger has all three.
  for (const until = Date.now() + 10_000; ; await new Promise((r) => setTimeout(r, 50))) {
    const u = await fetch(`${gateway.url}/v1/usage`, { headers: { authorization: `Bearer ${key}` } });
    if (u.ok && ((await u.json()) as { totals: { requests: number } }).totals.requests === 3) break;
    if (Date.now() > until) throw new Error("usage of the three requests never recorded");
  }
});

afterAll(async () => {
  await gateway?.stop();
});

describe("switchyard usage and audit against a running gateway", () => {
  it("usage prints what /v1/usage answers, grouped", async () => {
    const r = await run(["usage", TEAM, "--url", gateway.url, "--group-by", "user", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const u = JSON.parse(r.stdout);
    expect(u.totals.requests).toBe(3);
    expect(u.groups.map((g: { user: string; requests: number }) => [g.user, g.requests])).toEqual([["ann", 2], ["bob", 1]]);

    const table = await run(["usage", TEAM, "--url", gateway.url, "--group-by", "day,user"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^day\s+user\s+requests/m);
    expect(table.stdout).toMatch(/^total\s+3\s/m);
    expect(table.stdout).toContain(u.totals.cost_exact);
  });

  it("audit verify walks the chain, recomputes rollups and budget windows, checks the signed head, and says it is intact", async () => {
    const r = await run(["audit", "verify", TEAM, "--url", gateway.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`audit chain of ${TEAM} intact: 3 records, rollups and budget windows match, head seq 3 [0-9a-f]{64}`));
    expect(r.stdout).toContain("head signed with AUDIT_SIGNING_KEY");
  });

  it("needs the operator token", async () => {
    const r = await run(["usage", TEAM, "--url", gateway.url], "not-the-admin-token-000");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/401 from \/v1\/usage/);
  });

  it("audit admin lists the team's changes from D1", async () => {
    const r = await run(["audit", "admin", "--team", TEAM, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { action: string }[]).map((x) => x.action)).toEqual(["team.create", "key.create"]);
  });
});
