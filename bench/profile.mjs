// Profiles the gateway's hot path: loads it as `npm run bench` does while V8's sampling profiler runs in
// its workerd (DevTools protocol through Miniflare's inspector), then prints where the time went, mapped
// through the bundle's source map to src/ files and lines.
//
//   node bench/profile.mjs [json|stream|paced] [--seconds S] [--concurrency N] [--out FILE.cpuprofile]
//                          [--unminified] [--inclusive] [--floor]
//
// --unminified profiles a bundle built with --no-minify, whose frames keep their own names and lines;
// --inclusive adds a table of time including callees (synchronous parts only: an async function's time
// after an await is counted where it resumes); --floor profiles the floor Worker instead, for comparison.
// The .cpuprofile opens in Chrome DevTools (Performance panel) or https://www.speedscope.app.
import { readFileSync, writeFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { devtools } from "./devtools.mjs";
import { load } from "./load.mjs";
import { jsonBody, startTargets, streamBody } from "./targets.mjs";

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i === -1 ? dflt : argv[i + 1];
};
const scenario = argv.find((a) => ["json", "stream", "paced"].includes(a)) ?? "json";
const seconds = Number(opt("--seconds", 8));
const concurrency = Number(opt("--concurrency", 32));
const out = opt("--out", null);
const unminified = argv.includes("--unminified");
const inclusive = argv.includes("--inclusive");
const profileFloor = argv.includes("--floor");

const env = await startTargets({ floor: profileFloor, inspect: profileFloor ? "floor" : "gateway", buildArgs: unminified ? ["--no-minify"] : [] });
try {
  const gw = env.byName[profileFloor ? "floor" : "gateway"];
  const dt = await devtools(env.inspectorPort, profileFloor ? "floor" : "switchyard");
  const body = scenario === "json" ? jsonBody() : streamBody(20, scenario === "paced" ? 2 : 0);
  const stream = scenario !== "json";
  await load({ url: gw.url, headers: gw.headers, body, concurrency, durationMs: 2000, stream });
  await dt.send("Profiler.enable");
  await dt.send("Profiler.setSamplingInterval", { interval: 100 });
  await dt.send("Profiler.start");
  const r = await load({ url: gw.url, headers: gw.headers, body, concurrency, durationMs: seconds * 1000, stream });
  const { profile } = await dt.send("Profiler.stop", {}, 120_000);
  dt.close();
  if (out) writeFileSync(out, JSON.stringify(profile));

  // Source map of the bundle, to name minified frames by their src/ file and line.
  let map = null;
  try {
    if (profileFloor) throw new Error("the floor has no source map");
    map = new SourceMap(JSON.parse(readFileSync(`${env.scriptPath}.map`, "utf8")));
  } catch {
    // no map: raw positions
  }
  const where = (cf) => {
    if (!cf.url) return cf.functionName.startsWith("(") ? cf.functionName : `(${cf.functionName || "native"})`;
    if (map && cf.lineNumber >= 0) {
      const e = map.findEntry(cf.lineNumber, cf.columnNumber);
      if (e && e.originalSource) {
        const src = e.originalSource.replace(/^.*?(node_modules\/|src\/)/, "$1");
        const name = e.name ?? cf.functionName;
        return `${src}:${e.originalLine + 1}${name ? ` ${name}` : ""}`;
      }
    }
    return `${cf.url.split("/").at(-1)}:${cf.lineNumber + 1} ${cf.functionName}`;
  };
  const fileOf = (label) => (label.startsWith("(") ? label : label.replace(/:\d+.*$/, "").replace(/^(node_modules\/(@[^/]+\/)?[^/]+).*$/, "$1"));

  // Self time per node from the samples; inclusive time by walking the call tree (a frame counted once
  // per path, however deep its recursion).
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  const self = new Map();
  const byFile = new Map();
  const incl = new Map();
  let total = 0;
  const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
  const walk = (id, onPath) => {
    const node = nodes.get(id);
    const label = where(node.callFrame);
    const us = selfUs.get(id) ?? 0;
    total += us;
    add(self, label, us);
    add(byFile, fileOf(label), us);
    const first = !onPath.has(label);
    if (first) onPath.add(label);
    let sum = us;
    for (const child of node.children ?? []) sum += walk(child, onPath);
    if (first) {
      onPath.delete(label);
      add(incl, label, sum);
    }
    return sum;
  };
  walk(profile.nodes[0].id, new Set());
  const idle = (self.get("(idle)") ?? 0) + (self.get("(program)") ?? 0);
  const top = (m, n) =>
    [...m.entries()]
      .filter(([k]) => k !== "(root)")
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `${((us / total) * 100).toFixed(1).padStart(6)}%  ${(us / 1000 / r.good).toFixed(4)} ms/req  ${k}`)
      .join("\n");
  console.log(`\n${scenario}, c=${concurrency}, ${seconds} s: ${r.good} requests (${r.rps.toFixed(0)}/s), ${r.bad} errors`);
  console.log(
    `sampled ${(total / 1000).toFixed(0)} ms: ${((total - idle) / 1000 / r.good).toFixed(4)} ms/req in JavaScript and runtime calls, ` +
      `${(idle / 1000 / r.good).toFixed(4)} ms/req idle or outside JavaScript`,
  );
  console.log(`\nby file (self time):\n${top(byFile, 20)}`);
  console.log(`\nby function (self time):\n${top(self, 40)}`);
  if (inclusive) console.log(`\nby function (inclusive):\n${top(incl, 60)}`);
} finally {
  await env.close();
}
process.exit(0);
