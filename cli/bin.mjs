#!/usr/bin/env node
// The `switchyard` admin CLI. Its TypeScript (shared with the Worker: schemas, key hashing) is bundled
// on first use with the esbuild that wrangler ships, and cached until a source file changes.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));

function sourceFingerprint() {
  const h = createHash("sha256");
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(".ts")) h.update(p).update(String(statSync(p).mtimeMs));
    }
  };
  walk(join(root, "cli"));
  walk(join(root, "src"));
  return h.digest("hex").slice(0, 16);
}

const cacheDir = join(root, "node_modules", ".cache", "switchyard-cli");
const out = join(cacheDir, `cli-${sourceFingerprint()}.mjs`);
if (!existsSync(out)) {
  const { build } = await import("esbuild");
  mkdirSync(cacheDir, { recursive: true });
  await build({
    entryPoints: [join(root, "cli", "main.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile: out,
    logLevel: "error",
    packages: "external",
  });
}
const { main } = await import(pathToFileURL(out).href);
process.exitCode = await main(process.argv.slice(2));
