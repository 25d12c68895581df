import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { ROOT, startGateway } from "../../scripts/gateway.mjs";

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
