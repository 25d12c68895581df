import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Ledger, LedgerFaults } from "../../src/ledger/ledger-do";
import { picodollars } from "../support/money";
import { estimatedTokens, eventually, expectedCost, newTeamKey, sentText, uniqueTag, type UpstreamLogEntry } from "./helpers";
import { ADMIN, direct, ledgerOf, prng, seedFor, setPolicy } from "./ledger-helpers";

/**
 * Nothing lost: thousands of requests, streamed or not, with upstream faults (errors, resets, cut streams,
 * missing usage), client disconnects and Ledger failures (before and after the write). Every request that
 * reached the provider leaves exactly one record, and the spend is the sum recomputed from the token counts
 * the upstream was told to report.
 */
const N = 2000;
const CONCURRENCY = 50;
const MODELS = ["openai/gpt-4o-mini", "openai/gpt-6-luna"];
/** The fake upstream's default answer, a chunk a word. */
const ANSWER_WORDS = ["Hello ", "from ", "upstream"];

type Fault = "none" | "error" | "retried" | "reset" | "cut" | "no_usage" | "abort";

interface Sent {
  i: number;
  user: string;
  model: string;
  stream: boolean;
  fault: Fault;
  d: { pt: number; ct: number; cached: number; cw: number; reasoning: number; cut?: number };
  messages: { role: string; content: string }[];
  status?: number;
}

describe("nothing lost", () => {
  it(`${N} requests with faults and disconnects: one record each, spend recomputed from the upstream's tokens`, { timeout: 120_000 }, async () => {
    const seed = seedFor();
    const r = prng(seed);
    const k = await newTeamKey();
    await setPolicy(k.team, { routing: { retries: 1 } });
    const run = uniqueTag("nl");
    const sent: Sent[] = [];
    for (let i = 0; i < N; i++) {
      const stream = r.chance(0.5);
      const roll = r.next();
      const fault: Fault =
        roll < 0.02 ? "error" : roll < 0.04 ? "retried" : roll < 0.06 ? "reset" : roll < 0.1 ? (stream ? "cut" : "no_usage") : roll < 0.13 ? "no_usage" : roll < 0.18 && stream ? "abort" : "none";
      const pt = r.int(1, 5000);
      const cached = r.chance(0.3) ? r.int(0, pt) : 0;
      const cw = r.chance(0.2) ? r.int(0, pt - cached) : 0;
      const ct = r.int(1, 2000);
      const reasoning = r.chance(0.3) ? r.int(0, ct) : 0;
      const d: Sent["d"] = { pt, ct, cached, cw, reasoning };
      const parts = [`tag=${run}-${i}`, `pt=${pt}`, `ct=${ct}`, `cached=${cached}`, `cw=${cw}`, `reasoning=${reasoning}`];
      if (fault === "error") parts.push("status=500");
      if (fault === "retried") parts.push("status=503", "fail_first=1");
      if (fault === "reset") parts.push("reset=1");
      if (fault === "cut") parts.push(`cut_after=${(d.cut = r.int(1, 3))}`);
      if (fault === "no_usage") parts.push("no_usage=1");
      if (fault === "abort") parts.push("delay=3", "reply=one two three four five six seven eight nine ten eleven twelve");
      const messages = [{ role: "user", content: `[[${parts.join(";")}]] request ${i} of ${run}` }];
      sent.push({ i, user: `${run}-u${i}`, model: r.pick(MODELS), stream, fault, d, messages });
    }

    const ledgerFaults = [
      { at: 300, faults: { failBefore: 2 } },
      { at: 800, faults: { failAfter: 2 } },
      { at: 1300, faults: { failBefore: 5 } }, // more than the batcher's retries: the events wait for the next batch
      { at: 1700, faults: { failAfter: 1, failBefore: 1 } },
    ];
    const started = Date.now();
    let next = 0;
    const worker = async () => {
      for (;;) {
        const s = sent[next++];
        if (!s) return;
        const f = ledgerFaults.find((x) => x.at === s.i);
        if (f) await runInDurableObject(ledgerOf(k.team), (ledger) => void ((ledger as unknown as Ledger).faults = { ...f.faults }));
        const t0 = Date.now();
        const res = await direct("/v1/chat/completions", { method: "POST", key: k.key, json: { model: s.model, stream: s.stream, user: s.user, messages: s.messages } });
        s.status = res.status;
        if (Date.now() - t0 > 1500) console.log("SLOW", s.i, s.fault, s.stream, Date.now() - t0, res.status);
        if (s.fault === "abort" && res.body) {
          const reader = res.body.getReader();
          await reader.read();
          await reader.cancel();
        } else await res.text();
        if (Date.now() - t0 > 1500) console.log("SLOWBODY", s.i, s.fault, s.stream, Date.now() - t0, res.status);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsed = Date.now() - started;

    // Which requests reached the provider: the upstream's own log (every try it received).
    const log = (await (await fetch(`${env.UPSTREAM_ORIGIN}/__log`)).json()) as UpstreamLogEntry[];
    const received = new Map<string, UpstreamLogEntry>();
    for (const e of log) if (typeof e.body.user === "string" && e.body.user.startsWith(`${run}-u`)) received.set(e.body.user, e);
    const reached = new Set(received.keys());

    const records = await eventually(async () => {
      const all: Record<string, any>[] = [];
      let cursor = 0;
      for (;;) {
        const res = await direct(`/v1/usage/export?team=${k.team}&cursor=${cursor}`, { key: ADMIN });
        const lines = (await res.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l));
        if (lines.length === 0) break;
        all.push(...lines);
        cursor = lines.at(-1).seq;
      }
      return all.length >= reached.size ? all : null;
    }, 15_000);

    // Every injected Ledger failure happened (and was retried through).
    const left = await runInDurableObject(ledgerOf(k.team), (ledger): LedgerFaults => (ledger as unknown as Ledger).faults);
    expect(left.failBefore ?? 0).toBe(0);
    expect(left.failAfter ?? 0).toBe(0);

    // Exactly one record per request that reached the provider, and none for any other.
    const byUser = new Map<string, Record<string, any>>();
    for (const rec of records) {
      expect(byUser.has(rec.user), `duplicate record for ${rec.user}`).toBe(false);
      byUser.set(rec.user, rec);
    }
    expect(records.length, `seed ${seed}`).toBe(reached.size);
    for (const u of reached) expect(byUser.has(u), `no record for ${u}`).toBe(true);
    expect(reached.size).toBeGreaterThan(N * 0.9);

    // Spend: the upstream's token counts (what its directives made it report), priced at the catalog.
    let expectedTotal = 0n;
    const counts: Record<string, number> = {};
    for (const s of sent) {
      const rec = byUser.get(s.user);
      if (!rec) continue;
      counts[`${s.fault}:${rec.status}`] = (counts[`${s.fault}:${rec.status}`] ?? 0) + 1;
      const why = `seed ${seed}, request ${s.i} (${s.fault}, ${s.stream ? "stream" : "json"}): ${JSON.stringify(rec)}`;
      if (rec.status === "error") {
        // A stream cut after its role chunk alone failed before its first token: it was committed (200) and
        // then ended with an in-band error, every candidate having failed.
        const noToken = s.fault === "cut" && s.d.cut === 1 && s.stream;
        expect(["error", "reset"].includes(s.fault) || s.status !== 200 || noToken, why).toBe(true);
        expect(rec.cost_exact, why).toBe("0.000000000000");
        continue;
      }
      if (!rec.estimated) {
        expect(["cut", "no_usage"].includes(s.fault), why).toBe(false);
        expect(rec, why).toMatchObject({ prompt_tokens: s.d.pt, completion_tokens: s.d.ct, cached_tokens: s.d.cached, cache_write_tokens: s.d.cw, reasoning_tokens: s.d.reasoning });
        const cost = expectedCost(rec.model, { prompt: s.d.pt, completion: s.d.ct, cached: s.d.cached, cacheWrite: s.d.cw, reasoning: s.d.reasoning });
        expect(rec.cost_exact, why).toBe(cost);
        expectedTotal += picodollars(cost);
        continue;
      }
      // No usage from the upstream: billed on an estimate, which must say so and follow from what was sent.
      expect(["cut", "no_usage", "abort"].includes(s.fault), why).toBe(true);
      // The prompt: bytes/4 of the whole body the provider received; the completion: of the text it streamed
      // (the role chunk carries none, then a word of the default answer a chunk).
      expect(rec.estimate_method, why).toBe("bytes/4");
      expect(rec.prompt_tokens, why).toBe(estimatedTokens(sentText(received.get(s.user)!)));
      if (s.fault === "cut") expect(rec, why).toMatchObject({ status: "cut", completion_tokens: estimatedTokens(ANSWER_WORDS.slice(0, s.d.cut! - 1).join("")) });
      if (s.fault === "no_usage") expect(rec.completion_tokens, why).toBe(estimatedTokens(ANSWER_WORDS.join("")));
      const cost = expectedCost(rec.model, { prompt: rec.prompt_tokens, completion: rec.completion_tokens });
      expect(rec.cost_exact, why).toBe(cost);
      expectedTotal += picodollars(cost);
    }
    const u = await (await direct("/v1/usage", { key: k.key })).json<any>();
    expect(picodollars(u.totals.cost_exact), `seed ${seed}`).toBe(expectedTotal);
    expect(u.totals.requests).toBe(records.filter((x) => x.status !== "error").length);
    console.log(JSON.stringify({ seed, requests: N, reached: reached.size, records: records.length, elapsed_ms: elapsed, outcomes: counts }));
  });
});
