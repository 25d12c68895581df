// The usage page: reads the gateway's own /v1/* with the team key kept in this tab's sessionStorage only.
// No framework; the chart is uPlot (uPlot.iife.min.js beside this file). Data goes into the page as text
// (textContent), never as markup.
"use strict";

const KEY_ITEM = "switchyard.key";
const $ = (id) => document.getElementById(id);

// ── the API ──────────────────────────────────────────────────────────────────────────────────────────────
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** GET one of the gateway's /v1/* paths with the key; never any other origin or path. */
async function api(path, key, as = "json") {
  if (!path.startsWith("/v1/")) throw new Error(`not an API path: ${path}`);
  let r;
  try {
    r = await fetch(path, { headers: { authorization: `Bearer ${key}` }, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" });
  } catch {
    throw new ApiError(0, "Cannot reach the gateway. Check the connection and try again.");
  }
  if (!r.ok) {
    let message = `the gateway answered ${r.status}`;
    try {
      message = (await r.json()).error.message || message;
    } catch {}
    throw new ApiError(r.status, message);
  }
  return as === "json" ? r.json() : r.blob();
}

// ── money and numbers ────────────────────────────────────────────────────────────────────────────────────
/** "1234.500000000000" → "$1,234.50": every non-zero digit the API gave, at least cents. */
function usd(exact) {
  const [int, frac = ""] = String(exact).split(".");
  const digits = frac.replace(/0+$/, "").padEnd(2, "0");
  return `$${Number(int).toLocaleString("en-US")}.${digits}`;
}

/** Rounded to the cent, half up, in exact decimal arithmetic. */
function usdCents(exact) {
  const [int, frac = ""] = String(exact).split(".");
  const scale = 10n ** BigInt(frac.length);
  const sub = BigInt(int) * scale + BigInt(frac || "0");
  const cents = (sub * 100n + scale / 2n) / scale;
  return `$${Number(cents / 100n).toLocaleString("en-US")}.${String(cents % 100n).padStart(2, "0")}`;
}

const num = (n) => Number(n).toLocaleString("en-US");

// ── dates (UTC) ──────────────────────────────────────────────────────────────────────────────────────────
const DAY_MS = 86_400_000;
const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);
const dayMs = (day) => Date.parse(`${day}T00:00:00Z`);

// ── small DOM helpers ────────────────────────────────────────────────────────────────────────────────────
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

// ── session ──────────────────────────────────────────────────────────────────────────────────────────────
let key = sessionStorage.getItem(KEY_ITEM);
let range = defaultRange();
let chart = null;
let older = null;

function defaultRange() {
  const now = Date.now();
  return { from: isoDay(now - 29 * DAY_MS), to: isoDay(now) };
}

function show(signedIn) {
  $("signin-view").hidden = signedIn;
  $("dash-view").hidden = !signedIn;
  $("signout").hidden = !signedIn;
  $("who").hidden = !signedIn;
}

function signOut(message = "") {
  key = null;
  sessionStorage.removeItem(KEY_ITEM);
  chart?.destroy();
  chart = null;
  for (const id of ["budgets", "tables", "recent", "chart-table", "who"]) $(id).replaceChildren();
  show(false);
  $("signin-error").textContent = message;
  $("key").focus();
}

/** Checks a key with /v1/key before keeping it: it must be known and able to read usage. */
async function signIn(candidate) {
  const info = (await api("/v1/key", candidate)).data;
  if (!info.scopes.includes("usage:read")) {
    throw new ApiError(403, "This key cannot read usage: it lacks the usage:read scope. Create one with --scopes usage:read.");
  }
  return info;
}

$("signin").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = $("key");
  const candidate = input.value.trim();
  $("signin-error").textContent = "";
  if (!candidate) {
    $("signin-error").textContent = "Enter a key.";
    return;
  }
  const button = ev.submitter ?? ev.target.querySelector("button");
  button.disabled = true;
  try {
    const info = await signIn(candidate);
    key = candidate;
    sessionStorage.setItem(KEY_ITEM, key);
    input.value = "";
    show(true);
    await load(info);
  } catch (err) {
    $("signin-error").textContent = err.status === 401 ? `That key was not accepted: ${err.message}.` : err.message;
  } finally {
    button.disabled = false;
  }
});

$("signout").addEventListener("click", () => signOut("Signed out."));

// ── range ────────────────────────────────────────────────────────────────────────────────────────────────
function setRangeInputs() {
  $("from").value = range.from;
  $("to").value = range.to;
}

$("range").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const from = $("from").value;
  const to = $("to").value;
  if (!from || !to || from > to) {
    $("status").textContent = "Pick a start date on or before the end date.";
    return;
  }
  range = { from, to };
  void load();
});

for (const b of document.querySelectorAll("[data-days]")) {
  b.addEventListener("click", () => {
    const now = Date.now();
    range = { from: isoDay(now - (Number(b.dataset.days) - 1) * DAY_MS), to: isoDay(now) };
    setRangeInputs();
    void load();
  });
}

// ── loading ──────────────────────────────────────────────────────────────────────────────────────────────
async function load(info) {
  $("status").textContent = "";
  setRangeInputs();
  const q = `from=${range.from}&to=${range.to}`;
  const days = Math.round((dayMs(range.to) - dayMs(range.from)) / DAY_MS) + 1;
  const unit = days <= 3 ? "hour" : "day";
  try {
    const [me, series, byModel, byProvider, byKey, byUser, recent] = await Promise.all([
      info ? Promise.resolve(info) : api("/v1/key", key).then((r) => r.data),
      api(`/v1/usage?${q}&group_by=${unit},model`, key),
      api(`/v1/usage?${q}&group_by=model`, key),
      api(`/v1/usage?${q}&group_by=provider`, key),
      api(`/v1/usage?${q}&group_by=key`, key),
      api(`/v1/usage?${q}&group_by=user`, key),
      api("/v1/generations?limit=20", key),
    ]);
    $("who").textContent = `Team ${me.team} · key ${me.label ?? me.key_id}`;
    $("range-label").textContent = `${range.from} – ${range.to} (UTC)`;
    renderTotals(byModel.totals);
    renderChart(series.groups, unit, days);
    renderBudgets(me);
    renderTables({ model: byModel.groups, provider: byProvider.groups, key: byKey.groups, user: byUser.groups });
    $("recent").replaceChildren();
    renderRecent(recent, true);
  } catch (err) {
    if (err.status === 401) return signOut(`Signed out: ${err.message}.`);
    $("status").textContent = err.status === 403 ? `This key cannot read usage: ${err.message}.` : err.message;
  }
}

function renderTotals(t) {
  $("total-cost").textContent = usdCents(t.cost_exact);
  $("total-cost-exact").textContent = `exactly ${usd(t.cost_exact)}`;
  $("total-requests").textContent = num(t.requests);
  $("total-tokens").textContent = num(t.prompt_tokens + t.completion_tokens);
  $("total-tokens-split").textContent = `${num(t.prompt_tokens)} in · ${num(t.completion_tokens)} out`;
  $("total-cached").textContent = num(t.cached_tokens);
}

// ── chart ────────────────────────────────────────────────────────────────────────────────────────────────
// Distinct in hue and in lightness, so neighbouring bands differ in grey too.
const COLOURS = ["#1f6feb", "#e8a33d", "#2e9e5b", "#c2415b", "#7b5cd6", "#70411d", "#16a3b3", "#9aa0a6", "#b3359a", "#4d5b0f"];

function renderChart(groups, unit, days) {
  $("chart-unit").textContent = unit;
  const step = unit === "hour" ? 3600 : 86400;
  const start = dayMs(range.from) / 1000;
  const slots = unit === "hour" ? days * 24 : days;
  const xs = Array.from({ length: slots }, (_, i) => start + i * step);
  const slotOf = (g) => Math.round((Date.parse(unit === "hour" ? `${g.hour}:00:00Z` : `${g.day}T00:00:00Z`) / 1000 - start) / step);
  const models = [...new Set(groups.map((g) => g.model))].sort();
  const raw = models.map(() => new Array(slots).fill(0));
  const exact = models.map(() => new Array(slots).fill("0"));
  for (const g of groups) {
    const i = slotOf(g);
    if (i < 0 || i >= slots) continue;
    raw[models.indexOf(g.model)][i] = g.cost;
    exact[models.indexOf(g.model)][i] = g.cost_exact;
  }
  // Stacked bars: each band is drawn to the running sum, tallest first, so each covers only its own share.
  const stacked = [];
  raw.forEach((row, m) => stacked.push(row.map((v, i) => v + (m > 0 ? stacked[m - 1][i] : 0))));
  // Nothing to draw where the stack is empty (a zero-height bar would still show its outline).
  for (const row of stacked) row.forEach((v, i) => v === 0 && (row[i] = null));
  const order = models.map((_, m) => m).reverse();
  const bars = uPlot.paths.bars({ size: [0.8, 48], gap: 1 });
  const opts = {
    width: chartWidth(),
    height: 260,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    scales: { x: { time: true, range: (u, min, max) => [min - step / 2, max + step / 2] }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [{}, { size: 64, values: (u, vals) => vals.map((v) => `$${v < 0.01 && v > 0 ? v.toPrecision(1) : v.toFixed(2)}`) }],
    legend: { live: true },
    series: [
      { label: unit === "hour" ? "Hour (UTC)" : "Day (UTC)", value: (u, ts) => (ts == null ? "" : new Date(ts * 1000).toISOString().slice(0, unit === "hour" ? 13 : 10).replace("T", " ") + (unit === "hour" ? ":00" : "")) },
      ...order.map((m) => ({
        label: models[m],
        fill: COLOURS[m % COLOURS.length],
        stroke: "#222",
        width: 0.5,
        paths: bars,
        points: { show: false },
        value: (u, v, si, i) => (i == null ? "" : usd(exact[m][i])),
      })),
    ],
  };
  chart?.destroy();
  $("chart").replaceChildren();
  chart = new uPlot(opts, [xs, ...order.map((m) => stacked[m])], $("chart"));
  renderChartTable(xs, unit, models, exact);
}

function chartWidth() {
  return Math.max(200, $("chart").clientWidth || 300);
}

new ResizeObserver(() => chart?.setSize({ width: chartWidth(), height: 260 })).observe($("chart"));

function renderChartTable(xs, unit, models, exact) {
  const rows = xs
    .map((ts, i) => ({ label: new Date(ts * 1000).toISOString().slice(0, unit === "hour" ? 13 : 10).replace("T", " "), cells: models.map((_, m) => exact[m][i]) }))
    .filter((r) => r.cells.some((c) => !/^0(\.0*)?$/.test(c)));
  $("chart-table").replaceChildren(
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, unit === "hour" ? "Hour (UTC)" : "Day (UTC)"), models.map((m) => el("th", { scope: "col" }, m)))),
    el("tbody", {}, rows.length ? rows.map((r) => el("tr", {}, el("th", { scope: "row" }, r.label), r.cells.map((c) => el("td", { class: "n" }, usd(c))))) : el("tr", {}, el("td", {}, "No spend in this range."))),
  );
}

// ── budgets ──────────────────────────────────────────────────────────────────────────────────────────────
function renderBudgets(me) {
  const box = $("budgets");
  if (!me.budgets.length) {
    box.replaceChildren(el("p", { class: "muted" }, "No budget applies to this key or its team (budgets are set in the team's policy)."));
    return;
  }
  box.replaceChildren(
    ...me.budgets.map((b) => {
      const limit = Number(b.limit_exact);
      const used = Number(b.usage_exact) + Number(b.reserved_exact);
      const title = `${b.scope === "team" ? "Team" : b.scope === "key" ? "This key" : b.scope} · ${b.period}${b.window ? ` (${b.window})` : ""}`;
      return el(
        "div",
        { class: "budget" },
        el("p", { class: "budget-title" }, title, b.resets_at ? el("span", { class: "muted small" }, ` · resets ${b.resets_at.slice(0, 16).replace("T", " ")} UTC`) : null),
        el("meter", { min: 0, max: limit || 1, value: Math.min(used, limit || 1), high: (limit || 1) * 0.8, optimum: 0, "aria-label": `${title}: ${Math.round((used / (limit || 1)) * 100)}% used` }),
        el(
          "p",
          { class: "small" },
          `Limit ${usd(b.limit_exact)} · spent ${usd(b.usage_exact)} · reserved ${usd(b.reserved_exact)} · left ${usd(b.remaining_exact)}`,
        ),
      );
    }),
  );
}

// ── breakdown tables ─────────────────────────────────────────────────────────────────────────────────────
const BREAKDOWNS = [
  ["model", "Per model"],
  ["provider", "Per provider"],
  ["key", "Per key"],
  ["user", "Per end user"],
];
const COLUMNS = [
  ["name", "Name", (g) => g.name],
  ["requests", "Requests", (g) => g.requests],
  ["tokens", "Tokens", (g) => g.prompt_tokens + g.completion_tokens],
  ["cached", "Cached", (g) => g.cached_tokens],
  ["cost", "Cost", (g) => g.cost],
];
const sortOf = {};

function renderTables(groups) {
  $("tables").replaceChildren(
    ...BREAKDOWNS.map(([dim, title]) => {
      const rows = groups[dim].map((g) => ({ ...g, name: g[dim] ?? "(none)" }));
      const wrap = el("div", { class: "scroll" });
      const draw = () => wrap.replaceChildren(breakdownTable(dim, title, rows, draw));
      draw();
      return wrap;
    }),
  );
}

function breakdownTable(dim, title, rows, redraw) {
  const sort = (sortOf[dim] ??= { col: "cost", desc: true });
  const get = COLUMNS.find((c) => c[0] === sort.col)[2];
  const sorted = [...rows].sort((a, b) => {
    const x = get(a);
    const y = get(b);
    const c = typeof x === "string" ? x.localeCompare(y) : x - y;
    return sort.desc ? -c : c;
  });
  const head = COLUMNS.map(([col, label]) => {
    const active = sort.col === col;
    return el(
      "th",
      { scope: "col", class: col === "name" ? "" : "n", "aria-sort": active ? (sort.desc ? "descending" : "ascending") : "none" },
      el(
        "button",
        {
          type: "button",
          class: "sort",
          onclick: () => {
            sortOfSet(dim, col);
            redraw();
            document.querySelector(`table[data-dim="${dim}"] th[aria-sort]:not([aria-sort="none"]) button`)?.focus();
          },
        },
        label,
        el("span", { "aria-hidden": "true" }, active ? (sort.desc ? " ▼" : " ▲") : ""),
      ),
    );
  });
  return el(
    "table",
    { "data-dim": dim },
    el("caption", {}, title),
    el("thead", {}, el("tr", {}, head)),
    el(
      "tbody",
      {},
      sorted.length
        ? sorted.map((g) =>
            el(
              "tr",
              {},
              el("th", { scope: "row", class: "name" }, g.name),
              el("td", { class: "n" }, num(g.requests)),
              el("td", { class: "n" }, num(g.prompt_tokens + g.completion_tokens)),
              el("td", { class: "n" }, num(g.cached_tokens)),
              el("td", { class: "n" }, usd(g.cost_exact)),
            ),
          )
        : el("tr", {}, el("td", { colspan: COLUMNS.length, class: "muted" }, "Nothing in this range.")),
    ),
  );
}

function sortOfSet(dim, col) {
  const s = sortOf[dim];
  if (s.col === col) s.desc = !s.desc;
  else Object.assign(s, { col, desc: col !== "name" });
}

// ── recent requests ──────────────────────────────────────────────────────────────────────────────────────
function renderRecent(page, first) {
  const table = $("recent");
  if (first) {
    table.append(
      el("caption", { class: "visually-hidden" }, "Recent requests, newest first"),
      el("thead", {}, el("tr", {}, ["Time (UTC)", "Model", "Status", "Tokens", "Cost"].map((h, i) => el("th", { scope: "col", class: i >= 3 ? "n" : "" }, h)))),
      el("tbody"),
    );
  }
  const body = table.querySelector("tbody");
  for (const g of page.data) {
    body.append(
      el(
        "tr",
        {},
        el("td", {}, el("button", { type: "button", class: "link", "data-id": g.id, onclick: () => openRecord(g.id) }, g.created_at.slice(5, 19).replace("T", " "))),
        el("td", { class: "name" }, g.model),
        el("td", {}, g.status),
        el("td", { class: "n" }, num(g.prompt_tokens + g.completion_tokens)),
        el("td", { class: "n" }, usd(g.cost_exact)),
      ),
    );
  }
  if (first && page.data.length === 0) body.append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No requests yet.")));
  older = page.next_before;
  $("older").hidden = !page.has_more;
}

$("older").addEventListener("click", async () => {
  try {
    renderRecent(await api(`/v1/generations?limit=20&before=${encodeURIComponent(older)}`, key), false);
  } catch (err) {
    $("status").textContent = err.message;
  }
});

async function openRecord(id) {
  const dialog = $("record");
  const body = $("record-body");
  body.replaceChildren(el("p", {}, "Loading…"));
  $("record-title").textContent = `Request ${id}`;
  if (!dialog.open) dialog.showModal();
  try {
    const g = (await api(`/v1/generation?id=${encodeURIComponent(id)}`, key)).data;
    const fields = [
      ["Time", `${g.created_at.replace("T", " ").replace("Z", "")} UTC`],
      ["Model", g.model_requested === g.model ? g.model : `${g.model} (asked for ${g.model_requested})`],
      ["Provider", g.provider],
      ["Status", [g.status, g.streamed && "streamed", g.cancelled && "cancelled", g.estimated && "estimated"].filter(Boolean).join(", ")],
      ["Key", g.key_id],
      ["End user", g.user ?? "(none)"],
      ["Prompt tokens", `${num(g.prompt_tokens)} (cached ${num(g.cached_tokens)}, cache writes ${num(g.cache_write_tokens)})`],
      ["Completion tokens", `${num(g.completion_tokens)} (reasoning ${num(g.reasoning_tokens)})`],
      ["Cost", usd(g.cost_exact)],
      ["Latency", `${num(g.latency_ms)} ms${g.ttfb_ms == null ? "" : ` (first byte ${num(g.ttfb_ms)} ms)`}`],
    ];
    body.replaceChildren(
      el("dl", { class: "record" }, fields.map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, v)))),
      el("h3", {}, `Attempts (${g.attempts.length})`),
      el("ol", { class: "attempts" }, g.attempts.map((a) => el("li", {}, attemptText(a)))),
    );
  } catch (err) {
    body.replaceChildren(el("p", { class: "error" }, err.message));
  }
}

function attemptText(a) {
  return Object.entries(a)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`)
    .join(" · ");
}

$("record-close").addEventListener("click", () => $("record").close());

// ── export ───────────────────────────────────────────────────────────────────────────────────────────────
async function download(format) {
  // The export's `to` is exclusive: the day after the range's last.
  const to = isoDay(dayMs(range.to) + DAY_MS);
  try {
    const blob = await api(`/v1/usage/export?format=${format}&from=${range.from}&to=${to}`, key, "blob");
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: `switchyard-usage-${range.from}-${range.to}.${format === "csv" ? "csv" : "ndjson"}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    $("status").textContent = err.message;
  }
}

$("export-csv").addEventListener("click", () => download("csv"));
$("export-ndjson").addEventListener("click", () => download("ndjson"));

// ── start ────────────────────────────────────────────────────────────────────────────────────────────────
setRangeInputs();
if (key) {
  show(true);
  void load();
} else {
  show(false);
}
