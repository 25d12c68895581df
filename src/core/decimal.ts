import * as z from "zod";

/**
 * Dollar amounts in documents people write (policy budgets, gateway config prices): a decimal string, or a
 * plain number, which YAML and JSON writers reach for first (`limit_usd: 5`, `prompt: 0.0000006`). A number
 * becomes the shortest decimal that reads back as the same number, which is the literal as written for any
 * literal of up to 15 significant digits; either way at most 12 decimals (the ledger's sub-unit, 1e-12).
 */
export function decimalAmount(message: string) {
  return z
    .union([z.string(), z.number().finite().nonnegative()])
    .transform((v) => (typeof v === "number" ? plainDecimal(v) : v))
    .pipe(z.string().regex(/^\d+(\.\d{1,12})?$/, message));
}

/** A number's shortest round-trip decimal, without an exponent: 6e-7 → "0.0000006", 1e21 → "1000000000000000000000". */
export function plainDecimal(n: number): string {
  const s = String(n);
  const m = /^(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const digits = m[1]! + (m[2] ?? "");
  const point = m[1]!.length + Number(m[3]);
  if (point <= 0) return `0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return digits + "0".repeat(point - digits.length);
  return `${digits.slice(0, point)}.${digits.slice(point)}`;
}
