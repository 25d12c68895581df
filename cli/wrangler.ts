import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);

/** Where the CLI writes: the local development state (default) or a deployed environment. */
export interface Target {
  remote: boolean;
  env?: string;
  /** Local state directory (wrangler's --persist-to), default .wrangler/state. */
  persistTo?: string;
}

export class CliError extends Error {}

function wranglerBin(): string {
  return join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
}

function targetArgs(t: Target): string[] {
  const args = [t.remote ? "--remote" : "--local"];
  if (t.env) args.push("--env", t.env);
  const persist = t.persistTo ?? process.env.SWITCHYARD_PERSIST_TO;
  if (!t.remote && persist) args.push("--persist-to", persist);
  return args;
}

export async function runWrangler(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wranglerBin(), ...args], {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: process.env.CI ?? "1", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(out);
      else reject(new CliError(`wrangler ${args.slice(0, 3).join(" ")} failed (${code}):\n${(err || out).trim()}`));
    });
  });
}

/** SQL string literal. Values are validated before they get here; quoting is still done properly. */
export function sqlString(v: string | null): string {
  return v === null ? "NULL" : `'${v.replace(/'/g, "''")}'`;
}

export function sqlValue(v: string | number | null): string {
  return typeof v === "number" ? String(Math.trunc(v)) : sqlString(v);
}

let migrated = false;

export async function applyMigrations(t: Target): Promise<void> {
  await runWrangler(["d1", "migrations", "apply", "DB", ...targetArgs(t)]);
  migrated = true;
}

/** Runs SQL against D1 and returns the rows of the last statement. */
export async function d1(t: Target, sql: string): Promise<Record<string, unknown>[]> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-"));
  const file = join(dir, "q.sql");
  writeFileSync(file, sql);
  const run = () => runWrangler(["d1", "execute", "DB", ...targetArgs(t), "--json", "--yes", "--file", file]);
  try {
    let out: string;
    try {
      out = await run();
    } catch (e) {
      if (!t.remote && !migrated && /no such table/i.test(String(e))) {
        await applyMigrations(t);
        out = await run();
      } else throw e;
    }
    const parsed = JSON.parse(out.slice(out.indexOf("["))) as { results?: Record<string, unknown>[] }[];
    return parsed.at(-1)?.results ?? [];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function kvPut(t: Target, key: string, value: string): Promise<void> {
  await runWrangler(["kv", "key", "put", key, value, "--binding", "KV", ...targetArgs(t)]);
}

export async function kvGet(t: Target, key: string): Promise<string | null> {
  try {
    return await runWrangler(["kv", "key", "get", key, "--binding", "KV", "--text", ...targetArgs(t)]);
  } catch {
    return null;
  }
}
