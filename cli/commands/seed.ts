import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { applyMigrations, ROOT, type Target } from "../wrangler";
import { createKey, createTeam, keyActive } from "./keys";

/**
 * Local quickstart state: migrations applied, team `demo`, and one key for it. The key is kept in
 * .wrangler/state/demo-key (local state only, never committed) so every start prints the same working key.
 */
export async function seedDemo(t: Target): Promise<{ team: string; key: string; created: boolean }> {
  await applyMigrations(t);
  await createTeam(t, "demo");
  const file = join(t.persistTo ?? process.env.SWITCHYARD_PERSIST_TO ?? join(ROOT, ".wrangler", "state"), "demo-key");
  if (existsSync(file)) {
    const saved = readFileSync(file, "utf8").trim();
    if (saved && (await keyActive(t, saved))) return { team: "demo", key: saved, created: false };
  }
  const k = await createKey(t, { team: "demo", name: "demo (seeded by npm run dev)" });
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${k.key}\n`, { mode: 0o600 });
  return { team: "demo", key: k.key, created: true };
}
