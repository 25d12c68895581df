// The runtime's own limit: a Worker on `workerd serve` with a capnp config written here, no Miniflare at all
// (no entry Worker, no loopback service, no wrappers of its own). The bench's floor-raw is bench/floor.js
// served this way, with the compatibility date and flags of wrangler.toml, so the ratios against it say
// what the gateway costs over the least a Worker can cost on this runtime.
import { spawn } from "node:child_process";
import { copyFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, join } from "node:path";
import { accepting } from "./proc.mjs";

const require = createRequire(import.meta.url);
/** The workerd binary that Miniflare runs (the `workerd` package, a dependency of wrangler and Miniflare). */
export const WORKERD = require("workerd").default;

const text = (s) => JSON.stringify(String(s));

/** A capnp config: one module Worker `name` from `module` (a file beside the config), on 127.0.0.1:`port`. */
export function capnpConfig({ module, port, compatibilityDate, compatibilityFlags = [], bindings = {} }) {
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "worker", worker = (
      modules = [(name = ${text(module)}, esModule = embed ${text(module)})],
      compatibilityDate = ${text(compatibilityDate)},
      compatibilityFlags = [${compatibilityFlags.map(text).join(", ")}],
      bindings = [${Object.entries(bindings)
        .map(([k, v]) => `(name = ${text(k)}, text = ${text(v)})`)
        .join(", ")}],
      globalOutbound = "net",
    )),
    # The default "internet" service allows public addresses only; the bench's upstream is on loopback.
    (name = "net", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "worker")],
);
`;
}

/**
 * Serves the module Worker at `file` on `workerd serve` (config and module copied into `dir`) on `port`.
 * Returns { url, pid, dispose }. `onOutput(stdout, stderr)` receives workerd's output streams.
 */
export async function serveRaw({ dir, file, port, compatibilityDate, compatibilityFlags, bindings, onOutput }) {
  const module = basename(file);
  copyFileSync(file, join(dir, module));
  const config = join(dir, `${module}.capnp`);
  writeFileSync(config, capnpConfig({ module, port, compatibilityDate, compatibilityFlags, bindings }));
  const child = spawn(WORKERD, ["serve", config], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  onOutput?.(child.stdout, child.stderr);
  let exited = null;
  child.once("exit", (code, signal) => (exited = code ?? signal));
  try {
    await accepting(port, Date.now() + 10_000, "workerd");
  } catch (err) {
    child.kill();
    throw exited === null ? err : new Error(`workerd serve exited (${exited})`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    dispose: () =>
      new Promise((resolve) => {
        if (exited !== null) return resolve();
        child.once("exit", resolve);
        child.kill();
      }),
  };
}
