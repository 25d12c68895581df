// Fails when an import in src/ runs back up the request's path. The layers, top to bottom, are the order a
// request passes through them, then what they all share; a file may import its own folder and any folder
// below it. Type-only imports may point up (a type is no dependency at run time); value imports may not.
// Run by `npm run typecheck` (so by `npm test`); `node scripts/check-layers.mjs --list` prints the type-only
// back-arrows too.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const LAYERS = ["http", "auth", "policy", "routing", "providers", "streaming", "formats", "ledger", "catalog", "core"];
/** Files at src/'s top: the entry point may import anything; env.ts (the bindings' type) sits with core. */
const TOP_FILES = { "index.ts": -1, "env.ts": LAYERS.length - 1 };

const SRC = join(dirname(dirname(fileURLToPath(import.meta.url))), "src");

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

function rank(path) {
  const [first, ...rest] = relative(SRC, path).split("/");
  if (rest.length === 0) return TOP_FILES[first] ?? -1;
  const i = LAYERS.indexOf(first);
  if (i < 0) throw new Error(`src/${first}/ is not a layer: add it to LAYERS in scripts/check-layers.mjs`);
  return i;
}

/** Every import (and re-export) of `src`: its target and whether it is type-only. */
export function importsOf(text) {
  const out = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(type\s+)?([^;]*?)\s+from\s+["'](\.[^"']+)["']/gms)) {
    // `import { type A, type B }` is type-only too.
    const names = /^\{([^}]*)\}$/.exec(m[2].trim());
    const allTypes = names !== null && names[1].split(",").filter((s) => s.trim()).every((s) => s.trim().startsWith("type "));
    out.push({ spec: m[3], typeOnly: Boolean(m[1]) || allTypes });
  }
  return out;
}

export function backArrows() {
  const found = [];
  for (const file of files(SRC)) {
    const from = rank(file);
    for (const { spec, typeOnly } of importsOf(readFileSync(file, "utf8"))) {
      const base = normalize(join(dirname(file), spec));
      const target = [base, `${base}.ts`, join(base, "index.ts")].find((p) => p.endsWith(".ts") && existsSync(p)) ?? base;
      if (rank(target) < from) found.push({ file: relative(SRC, file), spec, typeOnly });
    }
  }
  return found;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arrows = backArrows();
  const bad = arrows.filter((a) => !a.typeOnly);
  if (process.argv.includes("--list")) for (const a of arrows) console.log(`${a.typeOnly ? "type " : "VALUE"} src/${a.file} -> ${a.spec}`);
  if (bad.length) {
    console.error(`Imports that run back up the layers (${LAYERS.join(" → ")}):`);
    for (const a of bad) console.error(`  src/${a.file} imports ${a.spec}`);
    process.exit(1);
  }
  console.log(`layers: ${LAYERS.join(" → ")}; no value import runs back up (${arrows.length} type-only)`);
}
