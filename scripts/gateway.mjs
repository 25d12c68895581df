// Serving the gateway locally: bundle it as `wrangler deploy` would, then run it on workerd through
// Miniflare on a socket of the Worker's own (no development proxy, no entry Worker), with the same local
// state as `wrangler dev`.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const WRANGLER = join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");

/** Names passed from the process environment to the Worker (DESIGN.md, Environment). */
const PASSTHROUGH = /^([A-Z][A-Z0-9_]*_(API_KEY|BASE_URL)|ADMIN_TOKEN|MOCK_PROVIDER|KEY_CACHE_TTL_SECONDS|MAX_BODY_BYTES|BODY_TIMEOUT_MS)$/;

export function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: opts.stdio ?? ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } });
    let out = "";
    let err = "";
    child.stdout?.on("data", (d) => (out += d));
    child.stderr?.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")} failed (${code}): ${err || out}`))));
  });
}

export function wrangler(args, opts) {
  return run(process.execPath, [WRANGLER, ...args], { ...opts, env: { WRANGLER_SEND_METRICS: "false", ...opts?.env } });
}

/** Vars from .dev.vars, then the process environment (which wins). */
export function localVars(extra = {}) {
  const vars = {};
  const file = join(ROOT, ".dev.vars");
  if (existsSync(file)) {
    for (const line of readFileSync(file, "utf8").split(/\r?\n/)) {
      const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
      if (m && !line.trimStart().startsWith("#")) vars[m[1]] = m[2].replace(/^"(.*)"$/, "$1").replace(/^'(.*)'$/, "$1");
    }
  }
  for (const [k, v] of Object.entries(process.env)) if (PASSTHROUGH.test(k) && v !== undefined) vars[k] = v;
  return { ...vars, ...extra };
}

/** Applies migrations and seeds team `demo` with a key; returns { key }. */
export async function seed(persistTo) {
  const out = await run(process.execPath, [join(ROOT, "cli", "bin.mjs"), "dev", "seed", ...(persistTo ? ["--persist-to", persistTo] : [])]);
  return JSON.parse(out.trim().split("\n").at(-1));
}

/** Bundles the Worker as `wrangler deploy` would (`args`: more of its flags); returns the entry module's path. */
export async function buildWorker(outdir = join(ROOT, "dist"), args = []) {
  await wrangler(["deploy", "--dry-run", "--outdir", outdir, ...args]);
  return join(outdir, "index.js");
}

/** The runtime settings of wrangler.toml (compatibility date and flags, bindings) as Miniflare options. */
export async function wranglerWorkerOptions() {
  const { unstable_getMiniflareWorkerOptions } = await import("wrangler");
  return unstable_getMiniflareWorkerOptions(join(ROOT, "wrangler.toml")).workerOptions;
}

/**
 * Serves one bundled module Worker on workerd through Miniflare, on a socket of its own: requests go
 * straight to the Worker, not through Miniflare's entry Worker (which every request on Miniflare's own
 * `port` passes first: a second Worker invocation, measured at about 40% of a bare forwarding Worker's
 * throughput). The compatibility date and flags default to wrangler.toml's, so any Worker served this way runs
 * on the same runtime as the gateway (the benchmark's floors do). `options` are passed on to Miniflare;
 * `alongside` are more Workers (Miniflare worker options) in the same runtime, reached through bindings.
 * `entry` replaces the main module with this source (it may import the bundle as "./<its file name>").
 */
export async function serveWorker({ name, scriptPath, port = 8787, host = "127.0.0.1", alongside = [], entry, ...options }) {
  const { Miniflare } = await import("miniflare");
  const { compatibilityDate, compatibilityFlags } = await wranglerWorkerOptions();
  const dir = dirname(scriptPath);
  const worker = {
    compatibilityDate,
    compatibilityFlags,
    // Miniflare otherwise sends every outbound fetch through a Worker of its own that drops CF-Connecting-IP
    // and adds CF-Worker: a second Worker invocation per upstream call. Nothing here forwards the client's
    // headers (the gateway builds each upstream request's headers itself), and without the entry Worker no
    // CF-Connecting-IP is added to a request in the first place.
    stripCfConnectingIp: false,
    ...options,
    name,
    // Module names are relative to the bundle's folder, which may be outside the working directory.
    modulesRoot: dir,
    ...(entry
      ? { modules: [{ type: "ESModule", path: join(dir, "local-entry.js"), contents: entry }, { type: "ESModule", path: scriptPath }] }
      : { modules: true, modulesRules: [{ type: "ESModule", include: ["**/*.js"] }], scriptPath }),
    unsafeDirectSockets: [{ host, port }],
  };
  // With several Workers, Miniflare reads the shared options (persistence, logs, inspector) from the top level.
  const others = alongside.map((w) => ({ compatibilityDate, compatibilityFlags, ...w }));
  // Miniflare's own entry socket still opens (its API, e.g. getD1Database, uses it), on a free port.
  const mf = new Miniflare({ ...worker, host, port: 0, ...(others.length ? { workers: [worker, ...others] } : {}) });
  await mf.ready;
  const url = await mf.unsafeGetDirectURL(name);
  return { url: url.href.replace(/\/$/, ""), mf, dispose: () => mf.dispose() };
}

/**
 * The usage page's static assets (wrangler.toml [assets]) as a Worker of their own beside the gateway.
 * Deployed, Cloudflare serves them in front of the Worker and sends /v1/* straight to it (run_worker_first).
 * Miniflare's way of doing that puts its asset router, two more Workers, in front of every request
 * (measured: about 0.4 ms of CPU and a third of the throughput per request); locally the gateway's socket
 * goes to the gateway itself, and a small entry module in the gateway's own isolate (LOCAL_ENTRY) hands
 * GET /dashboard* to this Worker through a service binding, so /v1/* takes no extra hop.
 */
function dashboardWorker(assets) {
  return {
    name: "switchyard-dashboard",
    modules: true,
    // A binding reaches a Worker's own script, not its asset router: the script hands the request to the assets.
    script: "export default { fetch: (request, env) => env.ASSETS.fetch(request) };",
    assets: { ...assets, binding: "ASSETS", routerConfig: { has_user_worker: true } },
  };
}

/**
 * The gateway's main module when served locally: the bundle's exports as they are (its Durable Object
 * classes included), and a fetch handler that sends /dashboard and the files under it to the dashboard
 * Worker and every other request to the bundle's own handler. The path is found in the URL string without
 * parsing it: on /v1/* this costs two string searches.
 */
const LOCAL_ENTRY = (bundle) => `import gateway from "./${bundle}";
export * from "./${bundle}";
export default {
  fetch(request, env, ctx) {
    const url = request.url;
    return url.startsWith("/dashboard", url.indexOf("/", url.indexOf("//") + 2)) ? env.DASHBOARD.fetch(request) : gateway.fetch(request, env, ctx);
  },
};
`;

/**
 * Starts the bundled Worker on workerd, on its own socket (see serveWorker). `persistTo` is wrangler's
 * --persist-to (default .wrangler/state), so `npm start`, `npm run dev` and the CLI share one local state.
 * Other options (e.g. `inspectorPort`) go to Miniflare.
 */
export async function startGateway({ port = 8787, host = "127.0.0.1", persistTo, vars = {}, scriptPath, ...options } = {}) {
  const { assets, ...workerOptions } = await wranglerWorkerOptions();
  const script = scriptPath ?? (await buildWorker());
  const root = join(persistTo ?? join(ROOT, ".wrangler", "state"), "v3");
  const dashboard = assets ? dashboardWorker(assets) : null;
  return serveWorker({
    ...workerOptions,
    name: "switchyard",
    scriptPath: script,
    bindings: { ...workerOptions.bindings, ...vars },
    host,
    port,
    d1Persist: join(root, "d1"),
    kvPersist: join(root, "kv"),
    durableObjectsPersist: join(root, "do"),
    cachePersist: join(root, "cache"),
    ...(dashboard ? { entry: LOCAL_ENTRY(basename(script)), serviceBindings: { ...workerOptions.serviceBindings, DASHBOARD: dashboard.name }, alongside: [dashboard] } : {}),
    ...options,
  });
}
