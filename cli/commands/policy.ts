import { builtinCatalog } from "../../src/catalog";
import { firstMatch } from "../../src/core/glob";
import { PolicyDocument, policyKvKey, validatePolicy } from "../../src/policy/schema";
import type { Command } from "../main";
import { CliError, d1, kvPut, sqlValue, type Target } from "../wrangler";
import { readConfigFile } from "./config";
import { checkTeam } from "./keys";
import { diffDocuments } from "./policy-diff";
import { settleNewest } from "./settle";

/**
 * `switchyard policy validate|push|pull|history|diff|rollback`. Every pushed version is kept in D1
 * (team_policies, with who and when, and an admin_audit row); the current one is written to KV at
 * `policy:<team>` as {version, document}, where Workers read it (see src/policy/load.ts for how soon).
 */
export const PROPAGATION = "Workers pick it up within 45 s";

function actor(): string {
  return process.env.SWITCHYARD_ACTOR ?? process.env.USER ?? "cli";
}

export interface CheckedPolicy {
  document: Record<string, unknown>;
  policy: PolicyDocument;
  warnings: string[];
}

/** Validates a policy document with the Worker's schema; every error names its path. */
export function checkPolicy(doc: unknown, source: string): CheckedPolicy {
  const r = validatePolicy(doc ?? {});
  if (!r.ok) throw new CliError(`${source} is not a valid policy:\n  ${r.errors.join("\n  ")}`);
  return { document: doc as Record<string, unknown>, policy: r.policy, warnings: catalogWarnings(r.policy) };
}

/**
 * What is valid but likely a mistake: alias targets the built-in catalog does not know (they may come from
 * `config push`), and alias targets the policy's own model lists rule out (the planner would skip them).
 */
function catalogWarnings(p: PolicyDocument): string[] {
  const out: string[] = [];
  const known = (id: string) => builtinCatalog.model(id.replace(/:(nitro|floor)$/, "")) !== undefined || builtinCatalog.models.some((m) => m.id === `${m.provider}/${id}`);
  for (const [name, targets] of Object.entries(p.aliases)) {
    targets.forEach((t, i) => {
      const id = typeof t === "string" ? t : t.model;
      if (!known(id)) out.push(`aliases.${name}.${i}: ${id} is not in the built-in catalog (a model added by config push?)`);
      // The planner matches the lists against the target and the alias's own name.
      const denied = firstMatch(p.models.deny, id, name);
      if (denied) out.push(`aliases.${name}.${i}: ${id} is denied by models.deny "${denied}"; the alias will never use it`);
      else if (p.models.allow.length > 0 && !firstMatch(p.models.allow, id, name)) {
        out.push(`aliases.${name}.${i}: ${id} is not in models.allow; the alias will never use it`);
      }
    });
  }
  return out;
}

export function readPolicyFile(file: string): CheckedPolicy {
  return checkPolicy(readConfigFile(file), file);
}

export interface StoredVersion {
  version: number;
  document: Record<string, unknown>;
  pushed_by: string;
  pushed_at: string;
}

function toStored(row: Record<string, unknown>): StoredVersion {
  return {
    version: Number(row.version),
    document: JSON.parse(String(row.document)) as Record<string, unknown>,
    pushed_by: String(row.pushed_by),
    pushed_at: new Date(Number(row.pushed_at)).toISOString(),
  };
}

/**
 * Stores `document` as the team's next version (with its audit row, in one batch) and makes the newest
 * version current in KV. Returns the version written.
 */
export async function pushDocument(t: Target, checked: CheckedPolicy, rollbackOf?: number): Promise<{ team: string; version: number }> {
  const team = checkTeam(checked.policy.team);
  const now = Date.now();
  const who = actor();
  const detail = `json_object('version', (SELECT MAX(version) FROM team_policies WHERE team_id = ${sqlValue(team)})${rollbackOf ? `, 'rollback_of', ${rollbackOf}` : ""})`;
  const rows = await d1(
    t,
    `INSERT INTO team_policies (team_id, version, document, pushed_by, pushed_at)
       SELECT ${sqlValue(team)}, COALESCE(MAX(version), 0) + 1, ${sqlValue(JSON.stringify(checked.document))}, ${sqlValue(who)}, ${now}
       FROM team_policies WHERE team_id = ${sqlValue(team)}
       HAVING EXISTS (SELECT 1 FROM teams WHERE id = ${sqlValue(team)});
     INSERT INTO admin_audit (at, actor, action, target, detail)
       SELECT ${now}, ${sqlValue(who)}, 'policy.push', ${sqlValue(team)}, ${detail} WHERE changes() > 0;
     SELECT p.version, p.document, p.pushed_by, p.pushed_at FROM teams t JOIN team_policies p ON p.team_id = t.id
       WHERE t.id = ${sqlValue(team)} ORDER BY p.version DESC LIMIT 1;`,
  );
  if (rows.length === 0) throw new CliError(`team ${team} does not exist; create it with: switchyard teams create ${team}`);
  const write = (v: StoredVersion) => kvPut(t, policyKvKey(team), JSON.stringify({ version: v.version, document: v.document }));
  const latest = toStored(rows[0]!);
  await write(latest);
  // A push racing this one may have reached KV first with an older version: KV ends with the newest.
  await settleNewest(latest, () => pullPolicy(t, team), write);
  return { team, version: latest.version };
}

/** One version of a team's policy (the current one by default), or null. */
export async function pullPolicy(t: Target, team: string, version?: number): Promise<StoredVersion | null> {
  checkTeam(team);
  const which = version === undefined ? "" : `AND version = ${Math.trunc(version)}`;
  const rows = await d1(
    t,
    `SELECT version, document, pushed_by, pushed_at FROM team_policies WHERE team_id = ${sqlValue(team)} ${which} ORDER BY version DESC LIMIT 1`,
  );
  return rows[0] ? toStored(rows[0]) : null;
}

export async function policyHistory(t: Target, team: string): Promise<Omit<StoredVersion, "document">[]> {
  checkTeam(team);
  const rows = await d1(
    t,
    `SELECT version, pushed_by, pushed_at FROM team_policies WHERE team_id = ${sqlValue(team)} ORDER BY version DESC`,
  );
  return rows.map((r) => ({ version: Number(r.version), pushed_by: String(r.pushed_by), pushed_at: new Date(Number(r.pushed_at)).toISOString() }));
}

function parseVersion(v: string | boolean | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${what} must be a version number (1, 2, ...), got ${String(v)}`);
  return n;
}

async function mustPull(t: Target, team: string, version?: number): Promise<StoredVersion> {
  const v = await pullPolicy(t, team, version);
  if (!v) throw new CliError(version === undefined ? `team ${team} has no policy yet` : `team ${team} has no policy version ${version}`);
  return v;
}

/** Differences, as lines, between two versions, the current version and a file, or the last two versions. */
export async function policyDiff(t: Target, team: string, opts: { file?: string; from?: string | boolean; to?: string | boolean }): Promise<{ from: string; to: string; lines: string[] }> {
  let from: { label: string; doc: unknown };
  let to: { label: string; doc: unknown };
  if (opts.file) {
    const current = await pullPolicy(t, team);
    from = { label: current ? `version ${current.version}` : "the default policy", doc: current?.document ?? { team } };
    to = { label: opts.file, doc: readPolicyFile(opts.file).document };
  } else if (opts.from !== undefined || opts.to !== undefined) {
    const a = await mustPull(t, team, parseVersion(opts.from, "--from"));
    const b = await mustPull(t, team, parseVersion(opts.to, "--to"));
    from = { label: `version ${a.version}`, doc: a.document };
    to = { label: `version ${b.version}`, doc: b.document };
  } else {
    const b = await mustPull(t, team);
    const a = b.version > 1 ? await pullPolicy(t, team, b.version - 1) : null;
    from = { label: a ? `version ${a.version}` : "the default policy", doc: a?.document ?? { team } };
    to = { label: `version ${b.version}`, doc: b.document };
  }
  // Compared with defaults filled in, so that only changes in meaning show.
  const normal = (d: unknown) => PolicyDocument.safeParse(d).data ?? d;
  const lines = diffDocuments(normal(from.doc), normal(to.doc));
  return { from: from.label, to: to.label, lines };
}

export async function rollbackPolicy(t: Target, team: string, version: string | undefined): Promise<{ team: string; version: number; copyOf: number }> {
  const v = parseVersion(version ?? "", "the version to roll back to")!;
  const old = await mustPull(t, team, v);
  const pushed = await pushDocument(t, checkPolicy(old.document, `version ${v}`), v);
  return { ...pushed, copyOf: v };
}

export const POLICY_USAGE = `  policy validate <file>      a team's policy (JSON or YAML): models, aliases, routing, data, budgets
  policy push <file>          stores a new version and makes it current (${PROPAGATION})
  policy pull <team> [<version>]
  policy history <team>
  policy diff <team> [<file> | --from V --to V]   default: the last two versions
  policy rollback <team> <version>                 pushes a copy of an old version`;

export const policyCommands: Record<string, Command> = {
  "policy validate": async ({ positionals, print, json }) => {
    const file = positionals[0] ?? "";
    const c = readPolicyFile(file);
    if (json) return print(JSON.stringify({ valid: true, team: c.policy.team, warnings: c.warnings }));
    print(`${file} is a valid policy for team ${c.policy.team}`);
    for (const w of c.warnings) print(`warning: ${w}`);
  },
  "policy push": async ({ target, positionals, print, json }) => {
    const file = positionals[0] ?? "";
    const c = readPolicyFile(file);
    const r = await pushDocument(target, c);
    if (json) return print(JSON.stringify({ ...r, warnings: c.warnings }));
    for (const w of c.warnings) print(`warning: ${w}`);
    print(`pushed policy version ${r.version} for team ${r.team}; ${PROPAGATION}`);
  },
  "policy pull": async ({ target, positionals, print, json }) => {
    const team = positionals[0] ?? "";
    const v = await mustPull(target, team, parseVersion(positionals[1], "the version"));
    print(json ? JSON.stringify(v) : JSON.stringify(v.document, null, 2));
  },
  "policy history": async ({ target, positionals, print, json }) => {
    const team = positionals[0] ?? "";
    const h = await policyHistory(target, team);
    if (json) return print(JSON.stringify(h));
    if (h.length === 0) return print(`team ${team} has no policy yet (the default policy applies)`);
    h.forEach((v, i) => print(`v${v.version}  ${v.pushed_at}  ${v.pushed_by}${i === 0 ? "  (current)" : ""}`));
  },
  "policy diff": async ({ target, positionals, values, print, json }) => {
    const team = positionals[0] ?? "";
    const d = await policyDiff(target, team, { file: positionals[1], from: values.from, to: values.to });
    if (json) return print(JSON.stringify(d));
    print(`--- ${d.from}`);
    print(`+++ ${d.to}`);
    for (const l of d.lines.length ? d.lines : ["(no differences)"]) print(l);
  },
  "policy rollback": async ({ target, positionals, print, json }) => {
    const r = await rollbackPolicy(target, positionals[0] ?? "", positionals[1]);
    print(json ? JSON.stringify(r) : `pushed policy version ${r.version} for team ${r.team}, a copy of version ${r.copyOf}; ${PROPAGATION}`);
  },
};
