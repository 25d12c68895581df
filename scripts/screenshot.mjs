// `node scripts/screenshot.mjs [out.png]`: the README's picture of the usage page (docs/dashboard.png).
// A fresh local state, a team budget, some traffic through the gateway to an OpenAI-shaped stand-in on
// 127.0.0.1 (so the numbers are real gateway arithmetic), then Debian's Chromium (CHROMIUM_PATH overrides)
// signs in with a read-only key and takes the picture.
import { createServer } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { ROOT, run, seed, startGateway } from "./gateway.mjs";

const out = process.argv[2] ?? join(ROOT, "docs", "dashboard.png");
const state = mkdtempSync(join(tmpdir(), "switchyard-shot-"));
const cli = (...args) => run(process.execPath, [join(ROOT, "cli", "bin.mjs"), ...args, "--persist-to", state]);

// Answers a chat completion with the usage its prompt asks for: "pt=<prompt tokens> ct=<completion tokens>".
const upstream = createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    const b = JSON.parse(body);
    const text = b.messages.at(-1).content;
    const [pt, ct] = [/pt=(\d+)/, /ct=(\d+)/].map((re) => Number(re.exec(text)?.[1] ?? 10));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({
      id: "chatcmpl-shot", object: "chat.completion", created: 1700000000, model: b.model,
      choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
      usage: { prompt_tokens: pt, completion_tokens: ct, total_tokens: pt + ct },
    }));
  });
});
await new Promise((r) => upstream.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${upstream.address().port}/v1`;

let gw;
let browser;
try {
  const { key } = await seed(state);
  const reader = JSON.parse(await cli("keys", "create", "--team", "demo", "--name", "spend-watch", "--scopes", "usage:read", "--json")).key;
  writeFileSync(join(state, "policy.yaml"), 'team: demo\nbudgets:\n  - { scope: team, period: month, limit_usd: "40.00" }\n');
  await cli("policy", "push", join(state, "policy.yaml"));
  gw = await startGateway({ port: 0, persistTo: state, vars: { OPENAI_BASE_URL: base, OPENAI_API_KEY: "sk-x", GROQ_BASE_URL: base, GROQ_API_KEY: "sk-x", MOCK_PROVIDER: "on" } });

  const traffic = [
    ["openai/gpt-4o", "alice", 420000, 61000], ["openai/gpt-4o", "bob", 180000, 22000], ["openai/gpt-4o-mini", "alice", 900000, 120000],
    ["openai/gpt-4o-mini", "carol", 350000, 40000], ["groq/llama-3.1-8b-instant", "bob", 2000000, 300000], ["mock/echo", null, 0, 0],
  ];
  for (let i = 0; i < 3; i++) {
    for (const [model, user, pt, ct] of traffic) {
      const r = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model, ...(user ? { user } : {}), messages: [{ role: "user", content: `pt=${pt + i * 1000} ct=${ct + i * 100}` }] }),
      });
      await r.text();
    }
  }
  await new Promise((r) => setTimeout(r, 500)); // usage lands within the batch window (100 ms)

  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, deviceScaleFactor: 1 });
  await page.goto(`${gw.url}/dashboard`);
  await page.locator('input[name="key"]').fill(reader);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#chart canvas").waitFor();
  await page.locator("#recent tbody tr").first().waitFor();
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser?.close();
  await gw?.dispose();
  upstream.close();
  rmSync(state, { recursive: true, force: true });
}
