// `npm run bench`: the gateway's overhead against the floors (a bare Worker that forwards with fetch, served
// the way the gateway is, and the same Worker on `workerd serve` with no Miniflare) and against the upstream
// itself, measured in one run. See docs/benchmarks.md.
//
//   npm run bench [-- --quick] [--duration S] [--warmup S] [--rounds N] [--concurrency N] [--chunks N]
//                 [--chunk-delay MS] [--long-mb N] [--upstream-port N] [--peer NAME=URL [--peer-header "H: V"]...]...
//                 [--peer-portkey [DIR]]
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { load, summary } from "./load.mjs";
import { devtools, liveHeapMiB } from "./devtools.mjs";
import { cpuMs, rssMiB, sampler } from "./proc.mjs";
import { jsonBody, startTargets, streamBody } from "./targets.mjs";

// ── options ──────────────────────────────────────────────────────────────────────────────────────────────
function parseArgs(argv) {
  const quick = argv.includes("--quick");
  const o = {
    quick,
    durationS: quick ? 3 : 8,
    warmupS: quick ? 1 : 2,
    rounds: quick ? 2 : 4,
    concurrency: 32,
    chunks: 20,
    chunkDelayMs: 2,
    longMiB: 50,
    upstreamPort: 0,
    peers: [],
    portkey: null,
  };
  const num = (i) => {
    const v = Number(argv[i + 1]);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${argv[i]} needs a number`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") continue;
    else if (a === "--duration") o.durationS = num(i++);
    else if (a === "--warmup") o.warmupS = num(i++);
    else if (a === "--rounds") o.rounds = Math.max(1, Math.round(num(i++)));
    else if (a === "--concurrency") o.concurrency = Math.max(1, Math.round(num(i++)));
    else if (a === "--chunks") o.chunks = Math.max(1, Math.round(num(i++)));
    else if (a === "--chunk-delay") o.chunkDelayMs = num(i++);
    else if (a === "--long-mb") o.longMiB = num(i++);
    else if (a === "--upstream-port") o.upstreamPort = Math.round(num(i++));
    else if (a === "--peer-portkey") o.portkey = { dir: argv[i + 1] && !argv[i + 1].startsWith("--") ? argv[++i] : undefined };
    else if (a === "--peer") {
      const m = /^([^=]+)=(.+)$/.exec(argv[++i] ?? "");
      if (!m) throw new Error("--peer needs NAME=URL");
      if (["direct", "floor-raw", "floor", "floor-js", "gateway", "portkey", ...o.peers.map((p) => p.name)].includes(m[1])) throw new Error(`--peer ${m[1]}: that name is taken`);
      o.peers.push({ name: m[1], url: chatUrl(m[2]), headers: {} });
    } else if (a === "--peer-header") {
      const m = /^([^:]+):\s*(.*)$/.exec(argv[++i] ?? "");
      if (!m || o.peers.length === 0) throw new Error('--peer-header "Name: value" follows the --peer it belongs to');
      o.peers.at(-1).headers[m[1].trim().toLowerCase()] = m[2];
    } else if (a === "--help" || a === "-h") {
      const head = readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n");
      console.log(head.slice(0, head.findIndex((l) => !l.startsWith("//"))).join("\n"));
      process.exit(0);
    } else throw new Error(`unknown option ${a} (see --help)`);
  }
  return o;
}

/** A peer's chat completions URL from its endpoint URL or its OpenAI-style base URL. */
function chatUrl(url) {
  const u = new URL(url);
  const path = u.pathname.replace(/\/$/, "");
  if (!path.endsWith("/chat/completions")) u.pathname = path.endsWith("/v1") ? `${path}/chat/completions` : `${path}/v1/chat/completions`;
  return u.href;
}

function machine() {
  const cpu = (() => {
    try {
      return /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown";
    } catch {
      return "unknown";
    }
  })();
  return { nproc: availableParallelism(), cpu, node: process.version, platform: `${process.platform}-${process.arch}`, loadavg: loadavg().map((x) => +x.toFixed(2)) };
}

// ── measuring ────────────────────────────────────────────────────────────────────────────────────────────
async function check(target, body, stream) {
  const res = await fetch(target.url, { method: "POST", headers: { "content-type": "application/json", ...target.headers }, body });
  const text = await res.text();
  if (!res.ok) throw new Error(`${target.name}: ${res.status} ${text.slice(0, 300)}`);
  if (stream && !text.trimEnd().endsWith("data: [DONE]")) throw new Error(`${target.name}: the stream did not end with [DONE]: …${text.slice(-300)}`);
  if (!stream) JSON.parse(text);
  return text;
}

/**
 * One phase: every target gets the same requests at the same concurrency. After a warmup each, the measured
 * time is split into rounds that visit the targets in turn (order rotated each round), so drift in the
 * machine's load falls on all of them alike.
 */
async function phase(o, allTargets, { name, body, concurrency, stream }) {
  // A peer that failed the stream check is left out of the stream phases (the report says why).
  const targets = stream ? allTargets.filter((t) => !t.noStream) : allTargets;
  process.stderr.write(`  ${name} (c=${concurrency}) `);
  for (const t of o.warmupS > 0 ? targets : []) {
    const w = await load({ url: t.url, headers: t.headers, body, concurrency, durationMs: o.warmupS * 1000, stream });
    t.answered += w.answered;
  }
  const acc = new Map(targets.map((t) => [t.name, { good: 0, bad: 0, wallMs: 0, cpuMs: 0, latency: [], ttfb: [], ttft: [] }]));
  const roundMs = (o.durationS * 1000) / o.rounds;
  for (let r = 0; r < o.rounds; r++) {
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(k + r) % targets.length];
      const a = acc.get(t.name);
      const cpu0 = cpuMs(t.pid);
      const res = await load({ url: t.url, headers: t.headers, body, concurrency, durationMs: roundMs, stream });
      const cpu1 = cpuMs(t.pid);
      t.answered += res.answered;
      a.good += res.good;
      a.bad += res.bad;
      a.wallMs += res.wallMs;
      a.cpuMs = cpu0 === null || cpu1 === null || a.cpuMs === null ? null : a.cpuMs + (cpu1 - cpu0);
      for (const key of ["latency", "ttfb", "ttft"]) for (const v of res.samples[key]) a[key].push(v);
      process.stderr.write(".");
    }
  }
  process.stderr.write("\n");
  const out = {};
  for (const t of targets) {
    const a = acc.get(t.name);
    out[t.name] = {
      rps: (a.good * 1000) / a.wallMs,
      errors: a.bad,
      latency: summary(a.latency),
      ttfb: summary(a.ttfb),
      ttft: summary(a.ttft),
      cpu_ms_per_req: a.cpuMs === null || a.good === 0 ? null : a.cpuMs / a.good,
      cpu_util: a.cpuMs === null ? null : a.cpuMs / a.wallMs,
    };
  }
  return out;
}

/** The long stream is given this long before it counts as failed (it takes seconds). */
const LONG_STREAM_LIMIT_MS = 120_000;

/**
 * One very long stream through the gateway. Its workerd's RSS is sampled every 20 ms; its isolate's live
 * JavaScript memory (heap and ArrayBuffers after a full GC, over the DevTools protocol) before, about every
 * 100 ms during, and after the stream. RSS alone overstates: freed buffers stay in the allocator's arenas
 * and V8 sizes its heap up for the first large streams, so RSS climbs early in a stream to a plateau; what
 * tells whether memory follows the stream's length is its growth over the second half.
 */
async function longStream(target, bytes, chunks, dt) {
  // The isolate's heap is read over DevTools; a probe that does not answer is a missing sample, not a hang.
  const pokeUrl = new URL("/healthz", target.url).href;
  const heap = async () =>
    dt
      ? liveHeapMiB(dt, pokeUrl).catch((err) => {
          console.error(`bench: heap sample failed: ${err.message}`);
          return null;
        })
      : null;
  const liveBefore = await heap();
  const rss = sampler(() => rssMiB(target.pid), 20);
  const live = [];
  let streaming = true;
  const probe = (async () => {
    while (dt && streaming) {
      await new Promise((r) => setTimeout(r, 100));
      if (!streaming) break;
      const v = await heap();
      if (v !== null) live.push(v);
    }
  })();
  const res = await load({
    url: target.url,
    headers: target.headers,
    body: streamBody(chunks, 0, bytes),
    concurrency: 1,
    requests: 1,
    stream: true,
    timeoutMs: LONG_STREAM_LIMIT_MS,
  });
  streaming = false;
  await probe;
  const samples = rss.stop();
  target.answered += res.answered;
  return {
    ok: res.good === 1,
    timed_out: res.timedOut,
    mib: res.bytes / 1048576,
    seconds: res.wallMs / 1000,
    rss_start_mib: samples[0] ?? null,
    rss_mid_mib: samples[Math.floor(samples.length / 2)] ?? null,
    rss_peak_mib: samples.length ? Math.max(...samples) : null,
    rss_end_mib: samples.at(-1) ?? null,
    live_before_mib: liveBefore,
    live_peak_mib: live.length ? Math.max(...live) : null,
    live_after_mib: await heap(),
    live_samples: live.length,
  };
}

// ── report ───────────────────────────────────────────────────────────────────────────────────────────────
const ms = (v) => (v === null || v === undefined ? "—" : v.toFixed(2));
const pad = (s, n) => String(s).padStart(n);
const f2 = (v, unit = "") => (v === null || v === undefined ? "—" : `${v.toFixed(2)}${unit}`);

function table(title, result, { stream }) {
  const cols = stream
    ? ["target", "req/s", "ttfb p50", "ttfb p99", "ttft p50", "ttft p99", "total p50", "total p99", "cpu ms/req", "cpu util", "errors"]
    : ["target", "req/s", "p50 ms", "p99 ms", "cpu ms/req", "cpu util", "errors"];
  const w = cols.map((c, i) => (i === 0 ? 10 : Math.max(9, c.length + 2)));
  const lines = [title, cols.map((c, i) => (i === 0 ? c.padEnd(w[0]) : pad(c, w[i]))).join("")];
  for (const [name, r] of Object.entries(result)) {
    const cells = stream
      ? [r.rps.toFixed(0), ms(r.ttfb.p50), ms(r.ttfb.p99), ms(r.ttft.p50), ms(r.ttft.p99), ms(r.latency.p50), ms(r.latency.p99)]
      : [r.rps.toFixed(0), ms(r.latency.p50), ms(r.latency.p99)];
    cells.push(r.cpu_ms_per_req === null ? "—" : r.cpu_ms_per_req.toFixed(3), r.cpu_util === null ? "—" : `${(r.cpu_util * 100).toFixed(0)}%`, r.errors);
    lines.push([name.padEnd(w[0]), ...cells.map((c, i) => pad(c, w[i + 1]))].join(""));
  }
  return lines.join("\n");
}

// ── main ─────────────────────────────────────────────────────────────────────────────────────────────────
async function main() {
  const o = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  console.error("bench: building the Worker, seeding a fresh local state, starting the targets");
  const env = await startTargets({ upstreamPort: o.upstreamPort, peers: o.peers, inspect: "gateway", portkey: o.portkey });
  try {
    const { targets, up, floor, floorRaw, gateway, key, bundle } = env;
    const gw = env.byName.gateway;
    const peerNames = targets.filter((t) => !["direct", "floor-raw", "floor", "floor-js", "gateway"].includes(t.name)).map((t) => t.name);
    console.error(
      `bench: upstream :${up.port}, floor-raw ${floorRaw.url} (workerd serve ${floorRaw.pid}), floor ${floor.url} (workerd ${floor.pid}), gateway ${gateway.url} (workerd ${gateway.pid})`,
    );
    for (const t of targets) {
      await check(t, jsonBody(), false);
      t.answered += 1;
      let s;
      try {
        s = await check(t, streamBody(o.chunks, 0), true);
      } catch (err) {
        if (!peerNames.includes(t.name)) throw err;
        t.noStream = err.message.slice(0, 200);
        console.error(`bench: ${t.name} is left out of the stream phases: ${t.noStream}`);
        continue;
      }
      if (t === gw && !/"cost":/.test(s)) throw new Error("gateway: the stream's usage chunk carries no cost");
      t.answered += 1;
    }

    const C = o.concurrency;
    const paced = `chunks ${o.chunkDelayMs} ms apart`;
    console.error(`bench: ${o.warmupS} s warmup + ${o.durationS} s measured per target and phase, in ${o.rounds} rounds`);
    const phases = {
      json: await phase(o, targets, { name: "non-stream", body: jsonBody(), concurrency: C }),
      json_c1: await phase(o, targets, { name: "non-stream", body: jsonBody(), concurrency: 1 }),
      stream: await phase(o, targets, { name: "stream, chunks unpaced", body: streamBody(o.chunks, 0), concurrency: C, stream: true }),
      stream_paced: await phase(o, targets, { name: `stream, ${paced}`, body: streamBody(o.chunks, o.chunkDelayMs), concurrency: C, stream: true }),
      stream_c1: await phase(o, targets, { name: `stream, ${paced}`, body: streamBody(o.chunks, o.chunkDelayMs), concurrency: 1, stream: true }),
    };

    console.error(`bench: one ${o.longMiB} MiB stream through the gateway, its memory sampled`);
    const dt = await devtools(env.inspectorPort, "switchyard").catch(() => null);
    const memory = await longStream(gw, o.longMiB * 1048576, o.chunks, dt);
    dt?.close();

    // Every request the gateway answered must be in the team's ledger (batches flush within 100 ms).
    await new Promise((r) => setTimeout(r, 500));
    const usageRes = await fetch(`${gateway.url}/v1/usage`, { headers: { authorization: `Bearer ${key}` } });
    const recorded = usageRes.ok ? (await usageRes.json()).totals.requests : null;

    const g = (p, t = "gateway") => phases[p][t] ?? null;
    const cpu = (p, t) => g(p, t)?.cpu_ms_per_req ?? null;
    const ratio = (a, b) => (a && b ? a / b : null);
    const diff = (a, b) => (a === null || b === null ? null : a - b);
    const ratios = {
      rps_gateway_over_floor_raw: ratio(g("json").rps, g("json", "floor-raw").rps),
      stream_rps_gateway_over_floor_raw: ratio(g("stream").rps, g("stream", "floor-raw").rps),
      paced_stream_rps_gateway_over_floor_raw: ratio(g("stream_paced").rps, g("stream_paced", "floor-raw").rps),
      rps_floor_over_floor_raw: ratio(g("json", "floor").rps, g("json", "floor-raw").rps),
      stream_rps_floor_over_floor_raw: ratio(g("stream", "floor").rps, g("stream", "floor-raw").rps),
      added_p50_ms_over_floor_raw: diff(g("json_c1").latency.p50, g("json_c1", "floor-raw").latency.p50),
      added_ttfb_p50_ms_over_floor_raw: diff(g("stream_c1").ttfb.p50, g("stream_c1", "floor-raw").ttfb.p50),
      stream_cpu_gateway_over_floor: ratio(cpu("stream", "gateway"), cpu("stream", "floor")),
      stream_cpu_gateway_over_floor_raw: ratio(cpu("stream", "gateway"), cpu("stream", "floor-raw")),
      rps_gateway_over_floor: ratio(g("json").rps, g("json", "floor").rps),
      stream_rps_gateway_over_floor: ratio(g("stream").rps, g("stream", "floor").rps),
      paced_stream_rps_gateway_over_floor: ratio(g("stream_paced").rps, g("stream_paced", "floor").rps),
      added_p50_ms_over_floor: diff(g("json_c1").latency.p50, g("json_c1", "floor").latency.p50),
      added_p50_ms_over_direct: diff(g("json_c1").latency.p50, g("json_c1", "direct").latency.p50),
      added_ttfb_p50_ms_over_floor: diff(g("stream_c1").ttfb.p50, g("stream_c1", "floor").ttfb.p50),
      added_ttfb_p50_ms_over_direct: diff(g("stream_c1").ttfb.p50, g("stream_c1", "direct").ttfb.p50),
      added_ttft_p50_ms_over_floor: diff(g("stream_c1").ttft.p50, g("stream_c1", "floor").ttft.p50),
      loaded_added_p50_ms_over_floor: diff(g("json").latency.p50, g("json", "floor").latency.p50),
      rps_gateway_over_floor_js: ratio(g("json").rps, g("json", "floor-js").rps),
      stream_rps_gateway_over_floor_js: ratio(g("stream").rps, g("stream", "floor-js").rps),
      stream_rps_floor_js_over_floor: ratio(g("stream", "floor-js").rps, g("stream", "floor").rps),
    };
    // Flat: what the gateway holds does not follow the stream's length. Buffering it in JavaScript would
    // raise the live heap by its size; buffering it anywhere would raise RSS all along, by its size.
    const liveGrowth = memory.live_peak_mib === null ? null : Math.max(memory.live_peak_mib, memory.live_after_mib) - memory.live_before_mib;
    const lateRssGrowth = memory.rss_mid_mib === null ? null : memory.rss_peak_mib - memory.rss_mid_mib;
    const flat = memory.ok && liveGrowth !== null && liveGrowth < 4 && lateRssGrowth !== null && lateRssGrowth < memory.mib / 20;
    const le = (v, max) => v !== null && v <= max;
    const ge = (v, min) => v !== null && v >= min;
    const targetsMet = {
      "gateway req/s >= 0.5 x floor-raw (non-stream)": ge(ratios.rps_gateway_over_floor_raw, 0.5),
      "gateway req/s >= 0.35 x floor-raw (stream, chunks unpaced)": ge(ratios.stream_rps_gateway_over_floor_raw, 0.35),
      "gateway req/s >= 0.75 x floor (non-stream)": ge(ratios.rps_gateway_over_floor, 0.75),
      "gateway req/s >= 0.5 x floor (stream, chunks unpaced)": ge(ratios.stream_rps_gateway_over_floor, 0.5),
      "added p50 over floor <= 0.3 ms": le(ratios.added_p50_ms_over_floor, 0.3),
      "added stream TTFB p50 over floor <= 0.5 ms": le(ratios.added_ttfb_p50_ms_over_floor, 0.5),
      [`CPU per ${o.chunks}-chunk stream <= 2 x the floor's`]: le(ratios.stream_cpu_gateway_over_floor, 2),
      [`memory flat over a ${o.longMiB} MiB stream (live heap < +4 MiB; RSS < +5% of the stream over its second half)`]: flat,
      "bundle <= 150 KiB gzip": bundle.gzip_kib <= 150,
    };
    const alsoMet = {
      "added p50 over floor-raw <= 0.3 ms": le(ratios.added_p50_ms_over_floor_raw, 0.3),
      "added stream TTFB p50 over floor-raw <= 0.5 ms": le(ratios.added_ttfb_p50_ms_over_floor_raw, 0.5),
      [`CPU per ${o.chunks}-chunk stream <= 2 x floor-raw's`]: le(ratios.stream_cpu_gateway_over_floor_raw, 2),
      "added stream time to first token p50 over floor <= 0.5 ms": le(ratios.added_ttft_p50_ms_over_floor, 0.5),
      "every answered request recorded in the ledger": recorded === gw.answered,
    };

    const m = machine();
    const out = [
      "",
      `Switchyard overhead — ${m.nproc} cores, ${m.cpu}, Node ${m.node}; ${o.durationS} s per target and phase; streams of ${o.chunks} chunks`,
      "",
      table(`non-stream, c=${C}`, phases.json, { stream: false }),
      "",
      table("non-stream, c=1", phases.json_c1, { stream: false }),
      "",
      table(`stream, c=${C}, chunks unpaced`, phases.stream, { stream: true }),
      "",
      table(`stream, c=${C}, ${paced}`, phases.stream_paced, { stream: true }),
      "",
      table(`stream, c=1, ${paced}`, phases.stream_c1, { stream: true }),
      "",
      `gateway / floor-raw req/s: non-stream ${f2(ratios.rps_gateway_over_floor_raw, "x")}, stream ${f2(ratios.stream_rps_gateway_over_floor_raw, "x")}, paced stream ${f2(ratios.paced_stream_rps_gateway_over_floor_raw, "x")}`,
      `gateway / floor req/s: non-stream ${f2(ratios.rps_gateway_over_floor, "x")}, stream ${f2(ratios.stream_rps_gateway_over_floor, "x")}, paced stream ${f2(ratios.paced_stream_rps_gateway_over_floor, "x")}`,
      `floor (Miniflare, own socket) / floor-raw (workerd serve) req/s: non-stream ${f2(ratios.rps_floor_over_floor_raw, "x")}, stream ${f2(ratios.stream_rps_floor_over_floor_raw, "x")}`,
      `added p50 (c=1): ${f2(ratios.added_p50_ms_over_floor, " ms")} over floor, ${f2(ratios.added_p50_ms_over_floor_raw, " ms")} over floor-raw, ${f2(ratios.added_p50_ms_over_direct, " ms")} over direct`,
      `added stream TTFB p50 (c=1, ${paced}): ${f2(ratios.added_ttfb_p50_ms_over_floor, " ms")} over floor, ${f2(ratios.added_ttfb_p50_ms_over_floor_raw, " ms")} over floor-raw, ${f2(ratios.added_ttfb_p50_ms_over_direct, " ms")} over direct; time to first token ${f2(ratios.added_ttft_p50_ms_over_floor, " ms")} over floor`,
      `CPU per request (c=${C}), non-stream / ${o.chunks}-chunk stream: ${["floor-raw", "floor", "floor-js", "gateway", ...peerNames].map((t) => `${t} ${f2(cpu("json", t))} / ${f2(cpu("stream", t), " ms")}`).join("; ")}`,
      `gateway CPU per stream: ${f2(ratios.stream_cpu_gateway_over_floor, "x")} the floor's, ${f2(ratios.stream_cpu_gateway_over_floor_raw, "x")} floor-raw's`,
      ...peerNames.map(
        (p) =>
          `${p}${env.byName[p].version ? ` ${env.byName[p].version}` : ""} req/s / gateway: non-stream ${f2(ratio(g("json", p)?.rps, g("json").rps), "x")}, stream ${f2(ratio(g("stream", p)?.rps, g("stream").rps), "x")}; ${p} / floor-raw: non-stream ${f2(ratio(g("json", p)?.rps, g("json", "floor-raw").rps), "x")}` +
          (env.byName[p].noStream ? `; left out of the stream phases: ${env.byName[p].noStream}` : ""),
      ),
      `floor-js (the body through JavaScript, untouched) / floor req/s: stream ${f2(ratios.stream_rps_floor_js_over_floor, "x")}; gateway / floor-js req/s: non-stream ${f2(ratios.rps_gateway_over_floor_js, "x")}, stream ${f2(ratios.stream_rps_gateway_over_floor_js, "x")}`,
      `gateway memory over one ${memory.mib.toFixed(0)} MiB stream (${memory.seconds.toFixed(1)} s${memory.ok ? "" : memory.timed_out ? `, DID NOT COMPLETE within ${LONG_STREAM_LIMIT_MS / 1000} s` : ", DID NOT COMPLETE"}): live JS heap ${f2(memory.live_before_mib)} -> peak ${f2(memory.live_peak_mib)} -> ${f2(memory.live_after_mib, " MiB")} (${memory.live_samples} samples); RSS start ${f2(memory.rss_start_mib)}, half-way ${f2(memory.rss_mid_mib)}, peak ${f2(memory.rss_peak_mib)}, end ${f2(memory.rss_end_mib, " MiB")}`,
      `bundle: ${bundle.raw_kib.toFixed(1)} KiB, ${bundle.gzip_kib.toFixed(1)} KiB gzip`,
      `ledger: ${recorded ?? "?"} requests recorded, ${gw.answered} answered`,
      ...env.logs.gateway.summary().slice(0, 3).map((l) => `gateway workerd printed ${l.n}x: ${l.line.slice(0, 160)}`),
      "",
      ...Object.entries(targetsMet).map(([name, ok]) => `${ok ? "PASS" : "MISS"}  ${name}`),
      "also:",
      ...Object.entries(alsoMet).map(([name, ok]) => `${ok ? "PASS" : "MISS"}  ${name}`),
    ];
    console.log(out.join("\n"));

    const round = (v) => (typeof v === "number" ? +v.toFixed(4) : v);
    const roundAll = (obj) => Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, round(v)]));
    const compact = (r) =>
      Object.fromEntries(
        Object.entries(r).map(([t, x]) => [
          t,
          roundAll({
            rps: x.rps,
            p50: x.latency.p50,
            p99: x.latency.p99,
            ttfb_p50: x.ttfb.p50,
            ttfb_p99: x.ttfb.p99,
            ...(x.ttft.n ? { ttft_p50: x.ttft.p50, ttft_p99: x.ttft.p99 } : {}),
            cpu_ms_per_req: x.cpu_ms_per_req,
            errors: x.errors,
          }),
        ]),
      );
    const json = {
      machine: m,
      options: { concurrency: C, duration_s: o.durationS, warmup_s: o.warmupS, rounds: o.rounds, chunks: o.chunks, chunk_delay_ms: o.chunkDelayMs },
      ratios: roundAll(ratios),
      cpu_ms_per_req: roundAll(
        Object.fromEntries(
          ["floor-raw", "floor", "floor-js", "gateway", ...peerNames].flatMap((t) => [
            [`${t.replace("-", "_")}_json`, cpu("json", t)],
            [`${t.replace("-", "_")}_stream`, cpu("stream", t)],
          ]),
        ),
      ),
      peers: Object.fromEntries(peerNames.map((p) => [p, { version: env.byName[p].version ?? null, no_stream: env.byName[p].noStream ?? null }])),
      memory: roundAll(memory),
      bundle: roundAll(bundle),
      usage: { recorded, answered: gw.answered },
      gateway_log: env.logs.gateway.summary().map((l) => ({ n: l.n, line: l.line.slice(0, 300) })),
      targets: targetsMet,
      also: alsoMet,
      phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, compact(v)])),
      seconds: Math.round((Date.now() - t0) / 1000),
    };
    console.log(`\nBENCH_JSON ${JSON.stringify(json)}`);
  } finally {
    await env.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench: ${err.stack ?? err}`);
    process.exit(1);
  },
);
