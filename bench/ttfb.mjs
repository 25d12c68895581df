// Time to first byte of a stream, gateway against floor, one request at a time: a narrower and less noisy
// look at the TTFB target than the full bench. Rounds alternate the two targets (order swapped each round),
// streams of 20 chunks 2 ms apart, and a non-stream request between, as in `npm run bench`.
//
//   node bench/ttfb.mjs [--rounds 8] [--seconds 1.5]
import { load, summary } from "./load.mjs";
import { jsonBody, startTargets, streamBody } from "./targets.mjs";

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i === -1 ? dflt : Number(argv[i + 1]);
};
const rounds = opt("--rounds", 8);
const seconds = opt("--seconds", 1.5);

const env = await startTargets({});
try {
  const { floor, gateway } = env.byName;
  const samples = { floor: { ttfb: [], json: [] }, gateway: { ttfb: [], json: [] } };
  for (let r = 0; r < rounds; r++) {
    for (const t of r % 2 ? [floor, gateway] : [gateway, floor]) {
      const s = await load({ url: t.url, headers: t.headers, body: streamBody(20, 2), concurrency: 1, durationMs: seconds * 1000, stream: true });
      samples[t.name].ttfb.push(...s.samples.ttfb);
      const j = await load({ url: t.url, headers: t.headers, body: jsonBody(), concurrency: 1, durationMs: (seconds * 1000) / 2 });
      samples[t.name].json.push(...j.samples.latency);
    }
  }
  const p50 = (a) => summary(a).p50;
  const f = (v) => v.toFixed(3);
  const ttfb = [p50(samples.floor.ttfb), p50(samples.gateway.ttfb)];
  const json = [p50(samples.floor.json), p50(samples.gateway.json)];
  console.log(`stream TTFB p50: floor ${f(ttfb[0])} ms, gateway ${f(ttfb[1])} ms, added ${f(ttfb[1] - ttfb[0])} ms (${samples.floor.ttfb.length} and ${samples.gateway.ttfb.length} streams)`);
  console.log(`non-stream p50:  floor ${f(json[0])} ms, gateway ${f(json[1])} ms, added ${f(json[1] - json[0])} ms`);
} finally {
  await env.close();
}
process.exit(0);
