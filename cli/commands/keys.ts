import { displayPrefix, generateKey, generateKeyId, hashKey, kvKeyName, SCOPES, type KeyRecord, type Scope } from "../../src/auth/keys";
import { CliError, d1, kvGet, kvPut, sqlValue, type Target } from "../wrangler";

export const TEAM_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function checkTeam(team: string | undefined): string {
  if (!team || !TEAM_ID.test(team)) {
    throw new CliError(`team must match ${TEAM_ID} (lowercase letters, digits, - and _), got ${JSON.stringify(team ?? "")}`);
  }
  return team;
}

function actor(): string {
  return process.env.SWITCHYARD_ACTOR ?? process.env.USER ?? "cli";
}

export async function createTeam(t: Target, team: string): Promise<boolean> {
  checkTeam(team);
  const now = Date.now();
  const rows = await d1(
    t,
    `INSERT OR IGNORE INTO teams (id, created_at) VALUES (${sqlValue(team)}, ${now});
     INSERT INTO admin_audit (at, actor, action, target) SELECT ${now}, ${sqlValue(actor())}, 'team.create', ${sqlValue(team)} WHERE changes() > 0;
     SELECT changes() AS created;`,
  );
  return Number(rows[0]?.created ?? 0) > 0;
}

/** "30d", "12h", "90m", "1y" → ms. */
export function parseDuration(s: string): number {
  const m = /^(\d+)([mhdwy])$/.exec(s);
  if (!m) throw new CliError(`--expires takes a duration like 30d, 12h, 90m, 1y; got ${s}`);
  const unit = { m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3, y: 365 * 86400e3 }[m[2] as "m" | "h" | "d" | "w" | "y"];
  return Number(m[1]) * unit;
}

export function parseScopes(s: string | undefined): Scope[] {
  const scopes = (s ?? SCOPES.join(",")).split(",").map((x) => x.trim()).filter(Boolean);
  for (const sc of scopes) {
    if (!(SCOPES as readonly string[]).includes(sc)) throw new CliError(`unknown scope ${sc}; scopes are ${SCOPES.join(", ")}`);
  }
  if (scopes.length === 0) throw new CliError("--scopes needs at least one scope");
  return [...new Set(scopes)] as Scope[];
}

export interface CreatedKey {
  key: string;
  keyId: string;
  team: string;
  scopes: Scope[];
  expiresAt: string | null;
}

export async function createKey(
  t: Target,
  opts: { team: string; name?: string; scopes?: string; expires?: string },
): Promise<CreatedKey> {
  const team = checkTeam(opts.team);
  // A key for a team that does not exist yet creates the team (and says so on stderr).
  if (await createTeam(t, team)) console.error(`created team ${team}`);
  const scopes = parseScopes(opts.scopes);
  const key = generateKey();
  const id = generateKeyId();
  const hash = await hashKey(key);
  const now = Date.now();
  const expiresAt = opts.expires ? now + parseDuration(opts.expires) : null;
  const name = opts.name ?? null;
  const record: KeyRecord = { id, team, name, scopes, expires_at: expiresAt, revoked_at: null };
  await d1(
    t,
    `INSERT INTO api_keys (id, team_id, name, key_hash, prefix, scopes, created_at, expires_at)
       VALUES (${sqlValue(id)}, ${sqlValue(team)}, ${sqlValue(name)}, ${sqlValue(hash)}, ${sqlValue(displayPrefix(key))},
               ${sqlValue(scopes.join(","))}, ${now}, ${sqlValue(expiresAt)});
     INSERT INTO admin_audit (at, actor, action, target, detail)
       VALUES (${now}, ${sqlValue(actor())}, 'key.create', ${sqlValue(id)}, ${sqlValue(JSON.stringify({ team, scopes, expires_at: expiresAt }))});`,
  );
  await kvPut(t, kvKeyName(hash), JSON.stringify(record));
  return { key, keyId: id, team, scopes, expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString() };
}

export interface KeyListing {
  keyId: string;
  name: string | null;
  prefix: string;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

const iso = (v: unknown) => (typeof v === "number" ? new Date(v).toISOString() : null);

export async function listKeys(t: Target, team: string): Promise<KeyListing[]> {
  checkTeam(team);
  const rows = await d1(
    t,
    `SELECT id, name, prefix, scopes, created_at, expires_at, revoked_at FROM api_keys WHERE team_id = ${sqlValue(team)} ORDER BY created_at`,
  );
  return rows.map((r) => ({
    keyId: String(r.id),
    name: (r.name as string | null) ?? null,
    prefix: String(r.prefix),
    scopes: String(r.scopes).split(","),
    createdAt: iso(r.created_at)!,
    expiresAt: iso(r.expires_at),
    revokedAt: iso(r.revoked_at),
  }));
}

/** Marks the key revoked in D1 and overwrites its KV record (a write, not a delete, so no stale copy wins). */
export async function revokeKey(t: Target, keyId: string): Promise<void> {
  if (!/^k_[A-Za-z0-9]{4,40}$/.test(keyId)) throw new CliError(`not a key id: ${keyId}`);
  const rows = await d1(
    t,
    `SELECT id, team_id, name, key_hash, scopes, expires_at, revoked_at FROM api_keys WHERE id = ${sqlValue(keyId)}`,
  );
  const r = rows[0];
  if (!r) throw new CliError(`no key ${keyId}`);
  const now = typeof r.revoked_at === "number" ? r.revoked_at : Date.now();
  await d1(
    t,
    `UPDATE api_keys SET revoked_at = ${now} WHERE id = ${sqlValue(keyId)} AND revoked_at IS NULL;
     INSERT INTO admin_audit (at, actor, action, target) VALUES (${Date.now()}, ${sqlValue(actor())}, 'key.revoke', ${sqlValue(keyId)});`,
  );
  const record: KeyRecord = {
    id: keyId,
    team: String(r.team_id),
    name: (r.name as string | null) ?? null,
    scopes: String(r.scopes).split(",") as Scope[],
    expires_at: (r.expires_at as number | null) ?? null,
    revoked_at: now,
  };
  await kvPut(t, kvKeyName(String(r.key_hash)), JSON.stringify(record));
}

/** Whether a key (by its hash) is known and active: the dev seed uses it to reuse a saved key. */
export async function keyActive(t: Target, key: string): Promise<boolean> {
  const hash = await hashKey(key);
  const rows = await d1(t, `SELECT revoked_at, expires_at FROM api_keys WHERE key_hash = ${sqlValue(hash)}`);
  const r = rows[0];
  if (!r || r.revoked_at !== null || (typeof r.expires_at === "number" && r.expires_at <= Date.now())) return false;
  return (await kvGet(t, kvKeyName(hash))) !== null;
}
