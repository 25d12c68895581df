import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, freshState } from "./gateway";

/** `switchyard config validate|push` refuse a custom provider that would borrow a secret or reach an internal host. */
describe("switchyard config: custom providers' secrets and hosts", () => {
  it("refuses, before writing anything, a provider keyed with the admin token, another provider's key, or aimed at a metadata or plain-http host", async () => {
    const persistTo = freshState();
    const cases: [Record<string, string>, RegExp][] = [
      [{ api_key_secret: "ADMIN_TOKEN" }, /providers\[0\]\.api_key_secret: ADMIN_TOKEN is the gateway's own secret/],
      [{ api_key_secret: "ANTHROPIC_API_KEY" }, /providers\[0\]\.api_key_secret: ANTHROPIC_API_KEY is a built-in provider's key/],
      [{ base_url: "http://169.254.169.254/latest/meta-data" }, /providers\[0\]\.base_url: 169\.254\.169\.254 is a cloud metadata address/],
      [{ base_url: "https://[fe80::1]/v1" }, /providers\[0\]\.base_url: .*link-local/],
      [{ base_url: "http://llm.acme.example/v1" }, /providers\[0\]\.base_url: use https/],
    ];
    for (const [i, [override, message]] of cases.entries()) {
      const file = join(persistTo, `bad-${i}.json`);
      const provider = { id: "acme", base_url: "https://llm.acme.example/v1", api_key_secret: "ACME_API_KEY", ...override };
      writeFileSync(file, JSON.stringify({ providers: [provider] }));
      const push = ["config", "push", file, "--persist-to", persistTo];
      for (const args of i === 0 ? [["config", "validate", file], push] : [["config", "validate", file]]) {
        const r = await cli(args);
        expect(r.code, `${args[1]} ${JSON.stringify(override)}`).not.toBe(0);
        expect(r.stderr).toMatch(message);
      }
    }
    const shown = await cli(["config", "show", "--persist-to", persistTo]);
    expect(shown.stdout).toContain("no gateway config pushed");

    const good = join(persistTo, "good.json");
    writeFileSync(good, JSON.stringify({ providers: [{ id: "acme", base_url: "http://127.0.0.1:9100/v1", api_key_secret: "ACME_API_KEY" }] }));
    const ok = await cli(["config", "validate", good]);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it("policy validate refuses allowing a premium feature the gateway cannot price, and takes web_search", async () => {
    const dir = freshState();
    const bad = join(dir, "bad-policy.yaml");
    writeFileSync(bad, "team: acme\nfeatures: { allow: [service_tier] }\n");
    const r = await cli(["policy", "validate", bad]);
    expect(r.code).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/features\.allow\.0: the gateway cannot price service_tier/);
    const good = join(dir, "good-policy.yaml");
    writeFileSync(good, "team: acme\nfeatures: { allow: [web_search] }\n");
    const ok = await cli(["policy", "validate", good]);
    expect(ok.code, ok.stderr).toBe(0);
  });
});
