/**
 * A readable difference between two JSON documents, one line per changed path: `+ path: value` (added),
 * `- path: value` (removed), `~ path: old → new` (changed). Objects are compared key by key; arrays and
 * scalars as whole values, which is how a policy's lists read best.
 */
export function diffDocuments(a: unknown, b: unknown, path = ""): string[] {
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => {
      const p = path ? `${path}.${k}` : k;
      if (!(k in b)) return [`- ${p}: ${show(a[k])}`];
      if (!(k in a)) return [`+ ${p}: ${show(b[k])}`];
      return diffDocuments(a[k], b[k], p);
    });
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  return [`~ ${path || "(document)"}: ${show(a)} → ${show(b)}`];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return JSON.stringify(v);
}
