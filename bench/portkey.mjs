// Portkey's open-source gateway (npm @portkey-ai/gateway, its Node server) as a peer of the bench, pointed at
// the bench's upstream. It is not a dependency of this project (about 95 packages); install it apart:
//
//   npm install --prefix /tmp/portkey @portkey-ai/gateway@1.15.2
//
// and run `npm run bench -- --peer-portkey` (or `--peer-portkey DIR` for another install folder; the
// project's own node_modules is tried first). Portkey sends an OpenAI-format request to a base URL of the
// caller's with the headers `x-portkey-provider: openai` and `x-portkey-custom-host: <base URL>`
// (127.0.0.1 is among the hosts it trusts by default).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { accepting } from "./proc.mjs";

export const PORTKEY_DEFAULT_DIR = "/tmp/portkey";

/** The folder of the installed @portkey-ai/gateway package, or null. */
export function findPortkey(dir = PORTKEY_DEFAULT_DIR) {
  for (const from of [import.meta.url, join(dir, "package.json")]) {
    try {
      return dirname(createRequire(from).resolve("@portkey-ai/gateway/package.json"));
    } catch {
      // not installed there
    }
  }
  return null;
}

/**
 * Starts Portkey's Node server on `port` (headless: no console UI), its output kept apart (`onOutput`).
 * Returns a bench peer ({ name, url, headers, pid }) that reaches `upstreamBase` through it, and `close`.
 */
export async function startPortkey({ dir, port, upstreamBase, onOutput }) {
  const pkg = findPortkey(dir);
  if (!pkg) throw new Error(`--peer-portkey: @portkey-ai/gateway is not installed; run: npm install --prefix ${dir ?? PORTKEY_DEFAULT_DIR} @portkey-ai/gateway@1.15.2`);
  const server = join(pkg, "build", "start-server.js");
  if (!existsSync(server)) throw new Error(`--peer-portkey: ${server} is missing`);
  const version = createRequire(import.meta.url)(join(pkg, "package.json")).version;
  const child = spawn(process.execPath, [server, `--port=${port}`, "--headless"], { cwd: pkg, stdio: ["ignore", "pipe", "pipe"] });
  onOutput?.(child.stdout, child.stderr);
  let exited = null;
  child.once("exit", (code, signal) => (exited = code ?? signal));
  try {
    await accepting(port, Date.now() + 20_000, "Portkey", 100);
  } catch (err) {
    child.kill();
    throw exited === null ? err : new Error(`Portkey exited (${exited})`);
  }
  return {
    peer: {
      name: "portkey",
      url: `http://127.0.0.1:${port}/v1/chat/completions`,
      headers: { authorization: "Bearer sk-bench", "x-portkey-provider": "openai", "x-portkey-custom-host": upstreamBase },
      pid: child.pid,
      version,
    },
    close: () =>
      new Promise((resolve) => {
        if (exited !== null) return resolve();
        child.once("exit", resolve);
        child.kill();
      }),
  };
}
