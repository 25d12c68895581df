import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, inject } from "vitest";
import { ROOT, seed, startGateway } from "../../scripts/gateway.mjs";
import { startFakeUpstream, type FakeUpstream, type ReceivedRequest } from "../support/upstream";

export interface LocalGateway {
  url: string;
  persistTo: string;
  /** The Miniflare instance serving it: for writing KV or D1 directly where the CLI would be slow. */
  mf: Awaited<ReturnType<typeof startGateway>>["mf"];
  stop(): Promise<void>;
}

/** A fresh local state directory (wrangler's --persist-to), shared by the gateway and the CLI. */
export function freshState(): string {
  return mkdtempSync(join(tmpdir(), "switchyard-e2e-"));
}

/** The bundled gateway on workerd, on a free port, over `persistTo`. */
export async function gatewayOn(persistTo: string, vars: Record<string, string>): Promise<LocalGateway> {
  // (The options' type is inferred from the JS defaults, which leave out persistTo and scriptPath.)
  const options = { port: 0, persistTo, scriptPath: inject("workerScript"), vars } as Parameters<typeof startGateway>[0];
  const gw = await startGateway(options);
  return {
    url: gw.url,
    persistTo,
    mf: gw.mf,
    stop: async () => {
      await gw.dispose();
      rmSync(persistTo, { recursive: true, force: true });
    },
  };
}

/** The built-in providers a test points at the fake upstream (acme: a `config push`ed one, its key only). */
export type FakeProvider = "openai" | "anthropic" | "gemini" | "deepseek" | "groq" | "acme";

/** A provider's variables: its base URL on the fake upstream at `origin`, and its key. */
const PROVIDER_VARS: Record<FakeProvider, (origin: string) => Record<string, string>> = {
  openai: (o) => ({ OPENAI_BASE_URL: `${o}/v1`, OPENAI_API_KEY: "sk-e2e-openai" }),
  anthropic: (o) => ({ ANTHROPIC_BASE_URL: o, ANTHROPIC_API_KEY: "sk-ant-e2e" }),
  gemini: (o) => ({ GEMINI_BASE_URL: `${o}/v1beta`, GEMINI_API_KEY: "gemini-e2e" }),
  deepseek: (o) => ({ DEEPSEEK_BASE_URL: `${o}/v1`, DEEPSEEK_API_KEY: "sk-e2e-deepseek" }),
  groq: (o) => ({ GROQ_BASE_URL: `${o}/v1`, GROQ_API_KEY: "sk-groq-e2e" }),
  acme: () => ({ ACME_API_KEY: "sk-acme-e2e" }),
};

/** A fake provider and the bundled gateway in front of it, with `seed()`'s team "demo" and its key. */
export interface E2EStack {
  upstream: FakeUpstream;
  /** The fake upstream's origin, http://127.0.0.1:PORT. */
  origin: string;
  gateway: LocalGateway;
  /** The demo team's inference key. */
  key: string;
  /** What `config push --json` printed, when a config was pushed. */
  pushed?: unknown;
  /** The one request the fake provider received whose body carries `tag=TAG` (it fails unless exactly one). */
  sentUpstream(tag: string): ReceivedRequest;
  stop(): Promise<void>;
}

export interface E2EOptions {
  /** The providers pointed at the fake upstream. */
  providers: FakeProvider[];
  /** More variables for the gateway (they win over the providers'). */
  vars?: Record<string, string>;
  /** A catalog config's lines, given the fake upstream's origin, pushed with `config push` before the gateway starts. */
  config?: (origin: string) => string[];
  /** The demo team's policy document, written as `policy push` writes it (KV policy:demo). */
  policy?: Record<string, unknown>;
}

/** Starts a fake upstream, seeds a fresh state, pushes the config and policy asked for, and starts the gateway. */
export async function startE2E(opts: E2EOptions): Promise<E2EStack> {
  const upstream = await startFakeUpstream();
  const origin = `http://127.0.0.1:${upstream.port}`;
  const persistTo = freshState();
  const { key } = await seed(persistTo);
  let pushed: unknown;
  if (opts.config) {
    const file = join(persistTo, "gateway-config.yaml");
    writeFileSync(file, [...opts.config(origin), ""].join("\n"));
    const r = await cli(["config", "push", file, "--persist-to", persistTo, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    pushed = JSON.parse(r.stdout.trim());
  }
  const vars = Object.assign({}, ...opts.providers.map((p) => PROVIDER_VARS[p](origin)), opts.vars);
  const gateway = await gatewayOn(persistTo, vars);
  if (opts.policy) {
    const kv = await gateway.mf.getKVNamespace("KV");
    await kv.put("policy:demo", JSON.stringify({ version: 1, document: { team: "demo", ...opts.policy } }));
  }
  return {
    upstream,
    origin,
    gateway,
    key,
    pushed,
    sentUpstream(tag) {
      const hits = upstream.log.filter((e) => JSON.stringify(e.body).includes(`tag=${tag};`) || JSON.stringify(e.body).includes(`tag=${tag}]`));
      expect(hits, `upstream requests tagged ${tag}`).toHaveLength(1);
      return hits[0]!;
    },
    stop: async () => {
      await gateway.stop();
      await upstream.close();
    },
  };
}

/**
 * A request's ledger record (`GET /v1/generation`), once it is written with its final status (usage lands
 * within the batch window, 100 ms); undefined if none came within 5 s.
 */
export async function generationRecord(gateway: LocalGateway, key: string, requestId: string): Promise<Record<string, any> | undefined> {
  let g: Record<string, any> | undefined;
  for (const until = Date.now() + 5_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
    const r = await fetch(`${gateway.url}/v1/generation?id=${requestId}`, { headers: { authorization: `Bearer ${key}` } });
    if (r.status === 200) {
      g = ((await r.json()) as { data: Record<string, any> }).data;
      if (g.status !== "error") break;
    } else await r.body?.cancel();
  }
  return g;
}

/** Runs `switchyard <args>` (node cli/bin.mjs); resolves with its exit code and output. */
export function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, "cli", "bin.mjs"), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
