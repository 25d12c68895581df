import type { KeyRecord, Scope } from "./keys";

interface ApiKeyRow {
  id: string;
  team_id: string;
  name: string | null;
  scopes: string;
  expires_at: number | null;
  revoked_at: number | null;
}

function toKeyRecord(r: ApiKeyRow): KeyRecord {
  return {
    id: r.id,
    team: r.team_id,
    name: r.name,
    scopes: r.scopes.split(",").filter(Boolean) as Scope[],
    expires_at: r.expires_at,
    revoked_at: r.revoked_at,
  };
}

export async function findKeyByHash(db: D1Database, hash: string): Promise<KeyRecord | null> {
  const row = await db
    .prepare(`SELECT id, team_id, name, scopes, expires_at, revoked_at FROM api_keys WHERE key_hash = ?1`)
    .bind(hash)
    .first<ApiKeyRow>();
  return row ? toKeyRecord(row) : null;
}

export interface NewKey {
  id: string;
  team: string;
  name: string | null;
  hash: string;
  prefix: string;
  scopes: Scope[];
  created_at: number;
  expires_at: number | null;
}

export async function insertTeam(db: D1Database, team: string, now: number): Promise<void> {
  await db.prepare(`INSERT OR IGNORE INTO teams (id, created_at) VALUES (?1, ?2)`).bind(team, now).run();
}

export async function insertKey(db: D1Database, k: NewKey): Promise<void> {
  await db
    .prepare(
      `INSERT INTO api_keys (id, team_id, name, key_hash, prefix, scopes, created_at, expires_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`,
    )
    .bind(k.id, k.team, k.name, k.hash, k.prefix, k.scopes.join(","), k.created_at, k.expires_at)
    .run();
}
