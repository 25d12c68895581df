-- Teams, their API keys (hashes only) and every version of their routing policy.
CREATE TABLE teams (
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  team_id TEXT NOT NULL REFERENCES teams (id),
  name TEXT,
  key_hash TEXT NOT NULL UNIQUE,          -- SHA-256 hex of the key; the key itself is never stored
  prefix TEXT NOT NULL,                   -- non-secret display label, e.g. "sk-sy-AbCd…"
  scopes TEXT NOT NULL,                   -- comma-separated: inference,usage:read
  created_at INTEGER NOT NULL,            -- epoch ms
  expires_at INTEGER,                     -- epoch ms, NULL = never
  revoked_at INTEGER                      -- epoch ms, NULL = active
);
CREATE INDEX api_keys_team ON api_keys (team_id);

-- Every pushed policy is kept; the current one is the highest version. Rollback = push an old version again.
CREATE TABLE team_policies (
  team_id TEXT NOT NULL REFERENCES teams (id),
  version INTEGER NOT NULL,
  document TEXT NOT NULL,                 -- JSON, validated by the policy schema
  pushed_by TEXT NOT NULL,
  pushed_at INTEGER NOT NULL,             -- epoch ms
  PRIMARY KEY (team_id, version)
);

-- Gateway-wide config (custom providers, extra models and prices), every version kept.
CREATE TABLE gateway_config (
  version INTEGER PRIMARY KEY,
  document TEXT NOT NULL,
  pushed_by TEXT NOT NULL,
  pushed_at INTEGER NOT NULL
);

-- Admin changes: who did what, when.
CREATE TABLE admin_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,                   -- team.create, key.create, key.revoke, policy.push, config.push
  target TEXT NOT NULL,
  detail TEXT
);
