/**
 * Globs of the policy document: `*` matches any run of characters (slashes included), everything else is
 * literal, matching is case-insensitive: `openai/*`, `*:free`, `groq/llama-*`.
 */
const compiled = new Map<string, RegExp>();

function toRegExp(glob: string): RegExp {
  let re = compiled.get(glob);
  if (!re) {
    const body = glob
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*");
    re = new RegExp(`^${body}$`, "i");
    if (compiled.size > 1000) compiled.clear();
    compiled.set(glob, re);
  }
  return re;
}

/** The first glob of `globs` that matches any of `values`, or undefined. */
export function firstMatch(globs: readonly string[], ...values: string[]): string | undefined {
  for (const g of globs) {
    const re = toRegExp(g);
    for (const v of values) if (re.test(v)) return g;
  }
  return undefined;
}
