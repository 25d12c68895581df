/**
 * Makes KV end with the newest version in D1, whatever other pushes race with this one. A push numbers its
 * version in D1 (one statement, so versions never collide) and then writes KV, where Workers read it; two
 * pushes at once can reach KV in the other order and leave the older version current. So after its KV
 * write a push reads D1's newest version again and, while that is newer than what it wrote, writes that.
 * Every push checks after its own last write, so the last write of all is of the newest version.
 */
export async function settleNewest<V extends { version: number }>(
  written: V,
  newest: () => Promise<V | null>,
  write: (v: V) => Promise<void>,
): Promise<V> {
  let current = written;
  for (;;) {
    const n = await newest();
    if (!n || n.version <= current.version) return current;
    current = n;
    await write(current);
  }
}
