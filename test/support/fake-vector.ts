/** The fake upstream's embeddings (no Node APIs: workerd tests import it to check answers). */

/** A deterministic vector for a text: the same text always embeds the same. */
export function fakeVector(text: string, dims: number): number[] {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return Array.from({ length: dims }, (_, i) => ((Math.imul(h ^ (i + 1), 2654435761) >>> 0) % 2000) / 1000 - 1);
}
