import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeUpstream, type FakeUpstream } from "../support/upstream";
import { seed } from "../../scripts/gateway.mjs";
import { cli, freshState, gatewayOn, type LocalGateway } from "./gateway";

/**
 * The usage page (GET /dashboard, static assets) in real Chromium against the bundled gateway, after real
 * traffic through it: Debian's `chromium` package driven by playwright-core (no browser download).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** The team `seed()` creates. */
const TEAM = "demo";
const MODELS = ["openai/gpt-4o-mini", "openai/gpt-4o", "groq/llama-3.1-8b-instant", "mock/echo"];

let upstream: FakeUpstream;
let gateway: LocalGateway;
let browser: Browser;
let persistTo: string;
/** Both scopes (sends the traffic), usage:read only (what a team hands to whoever watches), inference only. */
let full: string;
let reader: string;
let caller: string;
const sent: string[] = [];

async function ok(args: string[]): Promise<string> {
  const r = await cli([...args, "--persist-to", persistTo]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

const newKey = async (scopes: string) => (JSON.parse(await ok(["keys", "create", "--team", TEAM, "--scopes", scopes, "--json"])) as { key: string }).key;

async function api(path: string, key = reader): Promise<any> {
  const r = await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  expect(r.status, path).toBe(200);
  return r.json();
}

/** Dollars to the cent, half up, computed apart from the page's own code. */
function cents(exact: string): string {
  const [int, frac = ""] = exact.split(".");
  const scale = 10n ** BigInt(frac.length);
  const c = ((BigInt(int!) * scale + BigInt(frac || "0")) * 100n + scale / 2n) / scale;
  return `$${Number(c / 100n).toLocaleString("en-US")}.${String(c % 100n).padStart(2, "0")}`;
}

/** Dollars with every digit the API gave, at least cents: the page's way of showing an exact amount. */
function dollars(exact: string): string {
  const [int, frac = ""] = exact.split(".");
  return `$${Number(int).toLocaleString("en-US")}.${frac.replace(/0+$/, "").padEnd(2, "0")}`;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is needed for the browser tests and is not at ${CHROMIUM}. Install Debian's package: ` +
        "`sudo apt-get install -y chromium` (.ci/run does this in CI), or set CHROMIUM_PATH to a Chromium binary.",
    );
  }
  upstream = await startFakeUpstream();
  persistTo = freshState();
  ({ key: full } = await seed(persistTo));
  [reader, caller] = [await newKey("usage:read"), await newKey("inference")];
  const dir = mkdtempSync(join(tmpdir(), "switchyard-dash-"));
  writeFileSync(join(dir, "policy.yaml"), `team: ${TEAM}\nbudgets:\n  - { scope: team, period: month, limit_usd: "25.00" }\n`);
  await ok(["policy", "push", join(dir, "policy.yaml")]);
  const base = `http://127.0.0.1:${upstream.port}/v1`;
  gateway = await gatewayOn(persistTo, { OPENAI_BASE_URL: base, OPENAI_API_KEY: "sk-up", GROQ_BASE_URL: base, GROQ_API_KEY: "sk-up", MOCK_PROVIDER: "on" });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });

  // Real traffic: four models over three providers, two end users, a streamed answer, one failure.
  const bodies = [
    { model: MODELS[0], user: "alice", messages: [{ role: "user", content: "[[pt=1200;ct=300;cached=200]]" }] },
    // A big request, as big as the tokens it reports (budgets hold a body's bytes as its prompt's bound).
    { model: MODELS[1], user: "bob", max_tokens: 60_000, messages: [{ role: "user", content: `[[pt=300000;ct=60000]] ${"lorem ".repeat(55_000)}` }] },
    { model: MODELS[2], messages: [{ role: "user", content: "[[pt=5000;ct=700]]" }] },
    { model: MODELS[3], user: "alice", messages: [{ role: "user", content: "echo me" }] },
    { model: MODELS[1], user: "alice", stream: true, messages: [{ role: "user", content: "[[pt=33333;ct=4444]]" }] },
    { model: MODELS[0], messages: [{ role: "user", content: "[[status=500]]" }] },
  ];
  for (const body of bodies) {
    const r = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${full}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    await r.text();
    sent.push(r.headers.get("x-request-id")!);
  }
  // Every record written (usage lands within the batch window).
  for (const until = Date.now() + 10_000; ; await new Promise((r) => setTimeout(r, 100))) {
    const p = await api("/v1/generations?limit=100");
    if (p.data.length === sent.length) break;
    if (Date.now() > until) throw new Error(`only ${p.data.length} of ${sent.length} records arrived`);
  }
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await upstream?.close();
});

/** A fresh browser profile (its own storage); every request the page makes is kept. */
async function open(viewport = { width: 1280, height: 900 }): Promise<{ context: BrowserContext; page: Page; requests: { url: string; auth: string | undefined }[] }> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const requests: { url: string; auth: string | undefined }[] = [];
  page.on("request", (r) => requests.push({ url: r.url(), auth: r.headers().authorization }));
  const res = await page.goto(`${gateway.url}/dashboard`);
  expect(res?.status()).toBe(200);
  return { context, page, requests };
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.locator('input[name="key"]').fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Signed in and loaded: the totals are filled in. */
async function signedIn(page: Page, key = reader): Promise<void> {
  await signIn(page, key);
  await page.locator("#dash-view").waitFor({ state: "visible" });
  await expect.poll(() => page.locator("#total-requests").textContent()).not.toBe("–");
}

describe("GET /dashboard", () => {
  it("is static assets with security headers; /v1/* and unknown paths still reach the Worker", async () => {
    const r = await fetch(`${gateway.url}/dashboard`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = r.headers.get("content-security-policy") ?? "";
    for (const d of ["default-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "form-action 'none'", "base-uri 'none'", "object-src 'none'"]) {
      expect(csp).toContain(d);
    }
    expect(csp).not.toContain("unsafe");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("referrer-policy")).toBe("no-referrer");
    // Not the Worker: its responses carry a request id.
    expect(r.headers.get("x-request-id")).toBeNull();
    const html = await r.text();
    expect(html).toMatch(/<input[^>]*name="key"[^>]*type="password"/);
    expect(html).not.toMatch(/https?:\/\//);
    const js = await fetch(`${gateway.url}/dashboard/app.js`);
    expect(js.headers.get("content-security-policy")).toBe(csp);
    await js.text();

    const models = await fetch(`${gateway.url}/v1/models`);
    expect(models.status).toBe(200);
    expect(models.headers.get("x-request-id")).toMatch(/^gen-/);
    await models.text();
    const none = await fetch(`${gateway.url}/nothing-here`);
    expect(none.status).toBe(404);
    expect(((await none.json()) as any).error.code).toBe("not_found");
  });

  it("shows why a wrong key, a key without usage:read or an unreachable gateway cannot sign in, and keeps no key", async () => {
    const { context, page } = await open();
    await signIn(page, "sk-sy-not-a-real-key-0000000000000000");
    await expect.poll(() => page.locator("#signin-error").textContent()).toMatch(/not accepted: invalid API key/);
    await signIn(page, caller);
    await expect.poll(() => page.locator("#signin-error").textContent()).toMatch(/lacks the usage:read scope/);
    await page.route("**/v1/**", (route) => route.abort("connectionrefused"));
    await signIn(page, reader);
    await expect.poll(() => page.locator("#signin-error").textContent()).toMatch(/Cannot reach the gateway/);
    expect(await page.locator("#dash-view").isHidden()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
    await context.close();
  });

  it("after real traffic: totals equal /v1/usage to the cent, the chart has bars, every model, provider, key and user shows", async () => {
    const { context, page } = await open();
    await signedIn(page);
    const u = await api("/v1/usage?group_by=model");
    expect(u.totals.requests).toBe(sent.length - 1);
    expect(await page.locator("#total-cost").textContent()).toBe(cents(u.totals.cost_exact));
    expect(Number(u.totals.cost_exact)).toBeGreaterThan(1); // the cents are not all zero
    expect(await page.locator("#total-cost-exact").textContent()).toBe(`exactly ${dollars(u.totals.cost_exact)}`);
    expect(await page.locator("#total-requests").textContent()).toBe(String(u.totals.requests));
    expect(await page.locator("#total-tokens").textContent()).toBe((u.totals.prompt_tokens + u.totals.completion_tokens).toLocaleString("en-US"));

    // The chart: uPlot's canvas, drawn, with bars in the series' colours, and every model in its legend.
    const canvas = page.locator("#chart canvas");
    await canvas.waitFor();
    const drawn = await canvas.evaluate((c: HTMLCanvasElement) => {
      const px = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      // The fills of the four models' bands (app.js COLOURS); the smallest band may be under a pixel tall.
      const fills = new Set(["1f6feb", "e8a33d", "2e9e5b", "c2415b"]);
      let bars = 0;
      for (let i = 0; i < px.length; i += 4) {
        if (fills.has([px[i]!, px[i + 1]!, px[i + 2]!].map((v) => v.toString(16).padStart(2, "0")).join(""))) bars++;
      }
      return { w: c.width, h: c.height, bars };
    });
    expect(drawn.w).toBeGreaterThan(200);
    expect(drawn.h).toBeGreaterThan(100);
    expect(drawn.bars).toBeGreaterThan(20);
    const legend = await page.locator("#chart .u-legend").textContent();
    for (const m of MODELS) expect(legend).toContain(m);

    // The tables: every model, with its exact cost; every provider, key and end user.
    const modelRows = page.locator('table[data-dim="model"] tbody tr');
    expect(await modelRows.count()).toBe(MODELS.length);
    const shown = Object.fromEntries(await modelRows.evaluateAll((rows) => rows.map((r) => [r.querySelector("th")!.textContent, r.querySelector("td:last-child")!.textContent])));
    expect(shown).toEqual(Object.fromEntries(u.groups.map((g: any) => [g.model, dollars(g.cost_exact)])));
    for (const [dim, names] of [
      ["provider", ["openai", "groq", "mock"]],
      ["user", ["alice", "bob", "(none)"]],
    ] as const) {
      const text = await page.locator(`table[data-dim="${dim}"] tbody`).textContent();
      for (const n of names) expect(text).toContain(n);
    }
    const keyId = (await api("/v1/key", full)).data.key_id;
    expect(await page.locator('table[data-dim="key"] tbody').textContent()).toContain(keyId);

    // Sortable: a header button flips its order, announced by aria-sort.
    const reqHeader = page.locator('table[data-dim="model"] th', { hasText: "Requests" });
    await reqHeader.getByRole("button").click();
    await expect.poll(() => page.locator('table[data-dim="model"] th', { hasText: "Requests" }).getAttribute("aria-sort")).toBe("descending");

    // The team's budget, as a bar with its numbers in words.
    const budget = page.locator("#budgets .budget");
    expect(await budget.count()).toBe(1);
    expect(await budget.textContent()).toContain(`Limit $25.00 · spent ${dollars(u.totals.cost_exact)}`);
    expect(await budget.locator("meter").getAttribute("max")).toBe("25");
    await context.close();
  });

  it("keeps the key in sessionStorage only, sends it only to /v1/* of its own origin, survives a reload, forgets it on sign out", async () => {
    const { context, page, requests } = await open();
    await signedIn(page);
    await page.reload();
    await page.locator("#dash-view").waitFor({ state: "visible" });
    await expect.poll(() => page.locator("#total-requests").textContent()).toBe(String(sent.length - 1));
    expect(await page.locator("#signin-view").isHidden()).toBe(true);

    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([reader]);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(await context.cookies()).toEqual([]);
    expect(page.url()).toBe(`${gateway.url}/dashboard`);
    expect(requests.length).toBeGreaterThan(10);
    for (const r of requests) {
      expect(r.url).not.toContain(reader);
      expect(new URL(r.url).origin).toBe(gateway.url);
      if (r.auth !== undefined) {
        expect(new URL(r.url).pathname).toMatch(/^\/v1\//);
        expect(r.auth).toBe(`Bearer ${reader}`);
      }
    }
    expect(requests.filter((r) => r.auth !== undefined).length).toBeGreaterThan(0);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.locator("#signin-view").waitFor({ state: "visible" });
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.reload();
    expect(await page.locator("#signin-view").isVisible()).toBe(true);
    await context.close();
  });

  it("lists recent requests newest first; each opens its record, from the keyboard too", async () => {
    const { context, page } = await open();
    await signedIn(page);
    const ids = await page.locator("#recent tbody button[data-id]").evaluateAll((bs) => bs.map((b) => b.getAttribute("data-id")));
    expect(ids).toEqual([...sent].reverse());

    const failed = page.locator(`#recent button[data-id="${sent.at(-1)}"]`);
    await failed.focus();
    await page.keyboard.press("Enter");
    const dialog = page.locator("dialog#record");
    await dialog.waitFor({ state: "visible" });
    await expect.poll(() => dialog.textContent()).toContain("Attempts (");
    expect(await dialog.textContent()).toContain("error");

    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    const g = (await api(`/v1/generation?id=${sent[1]}`)).data;
    await page.locator(`#recent button[data-id="${sent[1]}"]`).click();
    await expect.poll(() => dialog.textContent()).toContain("Attempts (1)");
    const text = (await dialog.textContent())!;
    for (const s of [g.model, g.provider, g.status, dollars(g.cost_exact), `${g.latency_ms} ms`, (300000).toLocaleString("en-US")]) expect(text).toContain(s);
    await context.close();
  });

  it("downloads the range's export", async () => {
    const { context, page } = await open();
    await signedIn(page);
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download CSV" }).click()]);
    expect(download.suggestedFilename()).toMatch(/^switchyard-usage-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
    const lines = readFileSync((await download.path())!, "utf8").trim().split("\n");
    expect(lines[0]).toMatch(/^seq,id,created_at,/);
    expect(lines.slice(1).map((l) => l.split(",")[1]).sort()).toEqual([...sent].sort());
    await context.close();
  });

  it("fits a phone: 390 px wide, no horizontal scrolling, record open too", async () => {
    const { context, page } = await open({ width: 390, height: 844 });
    const fits = () => page.evaluate(() => ({ scroll: document.scrollingElement!.scrollWidth, width: window.innerWidth }));
    expect((await fits()).scroll).toBeLessThanOrEqual(390);
    await signedIn(page);
    await page.locator("#chart canvas").waitFor();
    const f = await fits();
    expect(f.width).toBe(390);
    expect(f.scroll).toBeLessThanOrEqual(f.width);
    await page.locator(`#recent button[data-id="${sent[0]}"]`).click();
    await expect.poll(() => page.locator("dialog#record").textContent()).toContain("Attempts (");
    expect((await fits()).scroll).toBeLessThanOrEqual(f.width);
    await context.close();
  });
});
