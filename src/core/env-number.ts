/**
 * A number from a Worker var (wrangler.toml `[vars]`, `.dev.vars`, the test config), one rule for all of
 * them: a value that is not a finite number, or is below the least allowed (by default anything ≤ 0), counts
 * as unset and gives `fallback`. `min: 0` lets 0 through, where 0 means something ("no caching", "at once").
 */
export function envNumber<E extends object>(env: E, name: keyof E & string, fallback: number, opts: { min?: number } = {}): number {
  const raw: unknown = env[name];
  if (typeof raw !== "number" && (typeof raw !== "string" || raw.trim() === "")) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v)) return fallback;
  return (opts.min === undefined ? v > 0 : v >= opts.min) ? v : fallback;
}
