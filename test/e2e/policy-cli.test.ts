import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, freshState, gatewayOn, type LocalGateway } from "./gateway";

/**
 * `switchyard policy ...` against a running gateway: a pushed policy changes routing within the documented
 * bound (POLICY_CACHE_TTL_SECONDS, 1 s here; 15 s plus KV's 30 s edge cache deployed).
 */
let gateway: LocalGateway;
let persistTo: string;
let key: string;
const TEAM = "routing";
const dir = mkdtempSync(join(tmpdir(), "switchyard-policy-"));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function ok(args: string[]): Promise<string> {
  const r = await cli([...args, "--persist-to", persistTo]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

function ask(model: string): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "routed by policy" }] }),
  });
}

/** Polls until the gateway answers `model` with `status`; returns how long that took. */
async function until(model: string, status: number, limitMs = 15_000): Promise<{ ms: number; body: any }> {
  const t0 = Date.now();
  for (;;) {
    const r = await ask(model);
    const body = await r.json();
    if (r.status === status) return { ms: Date.now() - t0, body };
    if (Date.now() - t0 > limitMs) throw new Error(`still ${r.status} after ${limitMs} ms: ${JSON.stringify(body)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

beforeAll(async () => {
  persistTo = freshState();
  await ok(["teams", "create", TEAM]);
  key = (JSON.parse(await ok(["keys", "create", "--team", TEAM, "--json"])) as { key: string }).key;
  gateway = await gatewayOn(persistTo, { MOCK_PROVIDER: "on", POLICY_CACHE_TTL_SECONDS: "1" });
});

afterAll(async () => {
  await gateway?.stop();
});

describe("switchyard policy", () => {
  it("validate names the path of every error, and exits non-zero", async () => {
    const bad = file("bad.yaml", `team: ${TEAM}\nrouting: { retries: -1, timeouts_ms: { headerz: 5 } }\naliases: { quick: [echo] }\n`);
    const r = await cli(["policy", "validate", bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("routing.retries: Too small");
    expect(r.stderr).toContain('routing.timeouts_ms: Unrecognized key: "headerz"');
    expect(r.stderr).toContain("aliases.quick.0: expected provider/model");
    const good = file("v1.yaml", `team: ${TEAM}\naliases:\n  quick: [mock/echo]\n`);
    expect(await ok(["policy", "validate", good])).toBe(`${good} is a valid policy for team ${TEAM}`);
    // Valid, but an alias target its own lists rule out is worth a warning.
    const odd = file("odd.yaml", `team: ${TEAM}\nmodels: { allow: ["mock/*", "openai/*"], deny: ["openai/gpt-4o"] }\naliases:\n  quick: [mock/echo, openai/gpt-4o, groq/llama-3.1-8b-instant]\nbudgets: [{ scope: team, period: day, limit_usd: 5 }]\n`);
    const w = await cli(["policy", "validate", odd]);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout).toContain('warning: aliases.quick.1: openai/gpt-4o is denied by models.deny "openai/gpt-4o"; the alias will never use it');
    expect(w.stdout).toContain("warning: aliases.quick.2: groq/llama-3.1-8b-instant is not in models.allow; the alias will never use it");
    expect(w.stdout).not.toContain("aliases.quick.0");
  });

  it("push: an alias starts to route within the bound", async () => {
    expect((await ask("quick")).status).toBe(404);
    const out = await ok(["policy", "push", join(dir, "v1.yaml")]);
    expect(out).toBe(`pushed policy version 1 for team ${TEAM}; Workers pick it up within 45 s`);
    const { ms, body } = await until("quick", 200);
    expect(body.model).toBe("mock/echo");
    // POLICY_CACHE_TTL_SECONDS is 1 here: a push shows within that, plus what a busy machine adds; not 45 s.
    expect(ms).toBeLessThan(12_000);
  });

  it("push: a denial takes effect within the bound, with a 403 that says why", async () => {
    const v2 = file("v2.json", JSON.stringify({ team: TEAM, aliases: { quick: ["mock/echo"] }, models: { deny: ["mock/*"] } }));
    await ok(["policy", "push", v2]);
    const { ms, body } = await until("quick", 403);
    expect(body.error.code).toBe("policy_denied");
    expect(body.error.excluded).toEqual([{ model: "mock/echo", provider: "mock", reason: 'denied by team policy (models.deny "mock/*")', by: "policy" }]);
    expect(ms).toBeLessThan(12_000);
  });

  it("history, diff, and rollback to an old version", async () => {
    const history = JSON.parse(await ok(["policy", "history", TEAM, "--json"])) as { version: number; pushed_by: string }[];
    expect(history.map((h) => h.version)).toEqual([2, 1]);
    expect(await ok(["policy", "diff", TEAM])).toBe(`--- version 1\n+++ version 2\n~ models.deny: [] → ["mock/*"]`);
    expect(await ok(["policy", "rollback", TEAM, "1"])).toBe(`pushed policy version 3 for team ${TEAM}, a copy of version 1; Workers pick it up within 45 s`);
    const { ms } = await until("quick", 200);
    expect(ms).toBeLessThan(12_000);
    expect(JSON.parse(await ok(["policy", "pull", TEAM]))).toEqual({ team: TEAM, aliases: { quick: ["mock/echo"] } });
    expect(await ok(["policy", "diff", TEAM, "--from", "1", "--to", "3"])).toBe("--- version 1\n+++ version 3\n(no differences)");
  });
});
