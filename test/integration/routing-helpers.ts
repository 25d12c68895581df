import { env } from "cloudflare:test";
import { expect } from "vitest";
import { clearPolicyCache, policyKvKey } from "../../src/policy/load";
import { PolicyDocument, type PolicyInput } from "../../src/policy/schema";
import { healthKey } from "../../src/routing/circuit";
import { resetLocalHealth } from "../../src/routing/health";
import { chat, newTeamKey, upstreamLog, type TestKey } from "./helpers";

/** Writes a team's policy the way `switchyard policy push` does (KV `policy:<team>` = {version, document}). */
export async function setPolicy(team: string, doc: Omit<PolicyInput, "team">, version = 1): Promise<void> {
  const document = PolicyDocument.parse({ team, ...doc });
  await env.KV.put(policyKvKey(team), JSON.stringify({ version, document: { team, ...doc } }));
  expect(document.team).toBe(team);
  clearPolicyCache();
}

/** A fresh team with a key and a policy. */
export async function teamWithPolicy(doc: Omit<PolicyInput, "team">): Promise<TestKey> {
  const k = await newTeamKey();
  await setPolicy(k.team, doc);
  return k;
}

/** The upstream model names the fake provider was called with for a tag, in order, with arrival times. */
export async function calls(tag: string): Promise<{ model: string; at: number; messages: any[] }[]> {
  return (await upstreamLog(tag)).map((r) => ({ model: String(r.body.model), at: r.at, messages: r.body.messages }));
}

/** Gaps in ms between consecutive calls. */
export function gaps(list: { at: number }[]): number[] {
  return list.slice(1).map((c, i) => c.at - list[i]!.at);
}

/** Sends a chat request and measures how long the whole answer took. */
export async function timedChat(key: string, body: Record<string, unknown>): Promise<{ r: Response; text: string; ms: number }> {
  const t0 = Date.now();
  const r = await chat(key, body);
  const text = await r.text();
  return { r, text, ms: Date.now() - t0 };
}

/**
 * Starts a test with these models' circuits closed, here and in the Health object: every failed try counts
 * towards a circuit, so tests of one file that fail the same primary on purpose would otherwise open it.
 */
export async function closeCircuits(...models: { provider: string; model: string }[]): Promise<void> {
  resetLocalHealth();
  const stub = env.HEALTH!.get(env.HEALTH!.idFromName("global"));
  await stub.report(models.map(({ provider, model }) => ({ key: healthKey(provider, model), at: Date.now(), ok: true, probe: true })));
}
