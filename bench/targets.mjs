// What the bench loads: the mock upstream (a child process); the floors and the gateway, each on its own
// workerd through Miniflare on a socket of the Worker's own, the way `npm start` serves the gateway, with a
// seeded team and key; floor-raw, the floor on `workerd serve` with no Miniflare; peers (Portkey, optional).
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { buildWorker, seed, serveWorker, startGateway, wranglerWorkerOptions } from "../scripts/gateway.mjs";
import { startPortkey } from "./portkey.mjs";
import { childPids } from "./proc.mjs";
import { serveRaw } from "./raw.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
export const MODEL = "openai/gpt-4o-mini";

// ── requests ─────────────────────────────────────────────────────────────────────────────────────────────
const MESSAGES = [
  { role: "system", content: "You are a helpful assistant." },
  { role: "user", content: "Write one short sentence about foxes." },
];

export const jsonBody = () => JSON.stringify({ model: MODEL, messages: MESSAGES, max_tokens: 20, temperature: 0.7 });

/** A streamed request: `chunks` content chunks, `delayMs` apart; `bytes` asks for a stream of that length. */
export const streamBody = (chunks, delayMs, bytes = 0) =>
  JSON.stringify({
    model: MODEL,
    messages: MESSAGES,
    max_tokens: chunks,
    temperature: 0.7,
    stream: true,
    metadata: { bench_delay_ms: String(delayMs), ...(bytes ? { bench_bytes: String(bytes) } : {}) },
  });

// ── processes ────────────────────────────────────────────────────────────────────────────────────────────
function startUpstreamProcess(port) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(HERE, "upstream.mjs"), "--port", String(port)], { stdio: ["pipe", "pipe", "inherit"] });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`mock upstream exited (${code})`)));
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl !== -1) resolve({ port: JSON.parse(out.slice(0, nl)).port, pid: child.pid, close: () => child.kill() });
    });
  });
}

/** Starts a Worker and returns it with the pid of the workerd process that Miniflare spawned for it. */
async function withPid(start) {
  const before = new Set(childPids("workerd"));
  const served = await start();
  const pid = childPids("workerd").find((p) => !before.has(p)) ?? null;
  return { ...served, pid };
}

/**
 * What a workerd prints, shown once per distinct line (prefixed with the Worker's name) and counted, so
 * that a warning repeated for every request neither floods the report nor goes unnoticed.
 */
export function runtimeLog(name) {
  const seen = new Map();
  const onLine = (line) => {
    const key = line.replace(/\b[0-9a-f]{16,}\b|\d+/g, "#");
    const n = (seen.get(key)?.n ?? 0) + 1;
    seen.set(key, { line, n });
    if (n === 1) process.stderr.write(`[${name} workerd] ${line}\n`);
  };
  const follow = (stream) => {
    let rest = "";
    stream.setEncoding("utf8");
    stream.on("data", (d) => {
      const lines = (rest + d).split("\n");
      rest = lines.pop();
      for (const l of lines) if (l.trim()) onLine(l);
    });
  };
  return {
    handleRuntimeStdio: (stdout, stderr) => {
      follow(stdout);
      follow(stderr);
    },
    /** Distinct lines with their counts, most repeated first. */
    summary: () => [...seen.values()].sort((a, b) => b.n - a.n),
  };
}

/** A port free on 127.0.0.1 now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer().once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Raw and gzip size of what `wrangler deploy` uploads (modules; not source maps). */
export function bundleSize(outdir) {
  let raw = 0;
  let gz = 0;
  for (const f of readdirSync(outdir)) {
    if (!/\.(m?js|wasm)$/.test(f)) continue;
    const buf = readFileSync(join(outdir, f));
    raw += buf.length;
    gz += gzipSync(buf).length;
  }
  return { raw_kib: raw / 1024, gzip_kib: gz / 1024 };
}

/**
 * Starts everything in a fresh temporary state. `peers` are extra targets ({ name, url, headers }).
 * `inspect` ("gateway" or "floor") opens that Worker's workerd to the DevTools protocol on `inspectorPort`
 * of the result (an open inspector with no session attached costs nothing measurable); `buildArgs` adds
 * wrangler flags to the gateway's build. `portkey` ({ dir }) adds Portkey's gateway as the peer `portkey`.
 */
export async function startTargets({ upstreamPort = 0, peers = [], floor: withFloor = true, inspect, buildArgs = [], portkey } = {}) {
  const tmp = mkdtempSync(join(tmpdir(), "switchyard-bench-"));
  const cleanup = [() => rmSync(tmp, { recursive: true, force: true })];
  const close = async () => {
    for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => {});
  };
  try {
    const up = await startUpstreamProcess(upstreamPort);
    cleanup.push(up.close);
    const upstreamBase = `http://127.0.0.1:${up.port}/v1`;
    const inspectorPort = inspect ? await freePort() : undefined;
    const logs = { floor: runtimeLog("floor"), gateway: runtimeLog("gateway"), portkey: runtimeLog("portkey") };
    const outdir = join(tmp, "bundle");
    const [scriptPath, { key }] = await Promise.all([buildWorker(outdir, buildArgs), seed(join(tmp, "state"))]);

    // A bare Worker of bench/ (floor.js, floor-js.js) in front of the upstream, served like the gateway.
    const serveFloor = async (name, file, extra = {}) => {
      const w = await withPid(() =>
        serveWorker({
          name,
          scriptPath: join(HERE, file),
          port: 0,
          bindings: { UPSTREAM_URL: `${upstreamBase}/chat/completions` },
          handleRuntimeStdio: logs.floor.handleRuntimeStdio,
          ...extra,
        }),
      );
      cleanup.push(w.dispose);
      return w;
    };
    const floor = withFloor ? await serveFloor("floor", "floor.js", inspect === "floor" ? { inspectorPort } : {}) : null;
    const floorJs = withFloor ? await serveFloor("floor-js", "floor-js.js") : null;
    // The same floor.js on `workerd serve` of a capnp config: the runtime's own limit, no Miniflare.
    let floorRaw = null;
    if (withFloor) {
      const { compatibilityDate, compatibilityFlags } = await wranglerWorkerOptions();
      const dir = join(tmp, "raw");
      mkdirSync(dir);
      floorRaw = await serveRaw({
        dir,
        file: join(HERE, "floor.js"),
        port: await freePort(),
        compatibilityDate,
        compatibilityFlags,
        bindings: { UPSTREAM_URL: `${upstreamBase}/chat/completions` },
        onOutput: logs.floor.handleRuntimeStdio,
      });
      cleanup.push(floorRaw.dispose);
    }
    const allPeers = [...peers];
    if (portkey) {
      const pk = await startPortkey({ dir: portkey.dir, port: await freePort(), upstreamBase, onOutput: logs.portkey.handleRuntimeStdio });
      cleanup.push(pk.close);
      allPeers.push(pk.peer);
    }
    const gateway = await withPid(() =>
      startGateway({
        port: 0,
        persistTo: join(tmp, "state"),
        scriptPath,
        vars: { OPENAI_BASE_URL: upstreamBase, OPENAI_API_KEY: "sk-bench" },
        handleRuntimeStdio: logs.gateway.handleRuntimeStdio,
        ...(inspect === "gateway" ? { inspectorPort } : {}),
      }),
    );
    cleanup.push(gateway.dispose);

    const targets = [
      { name: "direct", url: `${upstreamBase}/chat/completions`, headers: { authorization: "Bearer sk-bench" }, pid: null },
      ...(floorRaw ? [{ name: "floor-raw", url: `${floorRaw.url}/v1/chat/completions`, headers: {}, pid: floorRaw.pid }] : []),
      ...(floor ? [{ name: "floor", url: `${floor.url}/v1/chat/completions`, headers: {}, pid: floor.pid }] : []),
      ...(floorJs ? [{ name: "floor-js", url: `${floorJs.url}/v1/chat/completions`, headers: {}, pid: floorJs.pid }] : []),
      { name: "gateway", url: `${gateway.url}/v1/chat/completions`, headers: { authorization: `Bearer ${key}` }, pid: gateway.pid },
      ...allPeers.map((p) => ({ ...p, pid: p.pid ?? null })),
    ].map((t) => ({ ...t, answered: 0 }));
    return { targets, byName: Object.fromEntries(targets.map((t) => [t.name, t])), up, floor, floorRaw, gateway, key, scriptPath, inspectorPort, logs, bundle: bundleSize(outdir), close };
  } catch (err) {
    await close();
    throw err;
  }
}
