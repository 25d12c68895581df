import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { verifyChain, type AuditPage } from "../../src/ledger/audit";
import type { AuditTotalsPage } from "../../src/ledger/audit-totals";
import type { Command } from "../main";
import { CliError, d1, ROOT, sqlValue } from "../wrangler";
import { checkTeam } from "./keys";

/**
 * Usage and audit commands. A team's ledger lives in its Durable Object, reachable only through the Worker,
 * so these call the running gateway (`--url`, default http://127.0.0.1:8787: `npm run dev` / `npm start`)
 * with the operator's ADMIN_TOKEN (SWITCHYARD_ADMIN_TOKEN or ADMIN_TOKEN in the environment, else
 * .dev.vars). `audit admin` reads D1's admin_audit table through wrangler like the other commands.
 */
export const LEDGER_USAGE = `  usage <team> [--from D] [--to D] [--group-by day,hour,model,provider,key,user] [--url URL] [--json]
  audit verify <team> [--url URL] [--json] [--unsigned-through SEQ]
                                                recompute the team's audit chain, its seal, rollups and budget
                                                spend; names the first bad record (SEQ: the ledger's last record
                                                before AUDIT_SIGNING_KEY was set, accepted unsigned)
  audit admin [--team T] [--json]               policy, key and team changes: who, what, when
    (usage and audit verify call the running gateway with ADMIN_TOKEN; --url defaults to http://127.0.0.1:8787)`;

function adminToken(): string {
  const fromEnv = process.env.SWITCHYARD_ADMIN_TOKEN ?? process.env.ADMIN_TOKEN;
  if (fromEnv) return fromEnv;
  const file = join(ROOT, ".dev.vars");
  if (existsSync(file)) {
    const m = /^ADMIN_TOKEN\s*=\s*"?([^"\n]+)"?\s*$/m.exec(readFileSync(file, "utf8"));
    if (m) return m[1]!;
  }
  throw new CliError("set SWITCHYARD_ADMIN_TOKEN (or ADMIN_TOKEN) to the gateway's operator token");
}

function baseUrl(values: Record<string, unknown>): string {
  return String(values.url ?? process.env.SWITCHYARD_URL ?? "http://127.0.0.1:8787").replace(/\/+$/, "");
}

async function adminGet<T>(url: string): Promise<T> {
  let r: Response;
  try {
    r = await fetch(url, { headers: { authorization: `Bearer ${adminToken()}` } });
  } catch (err) {
    throw new CliError(`cannot reach the gateway at ${new URL(url).origin} (${(err as Error).message}); start it or pass --url`);
  }
  const text = await r.text();
  if (!r.ok) {
    let msg = text;
    try {
      msg = (JSON.parse(text) as { error: { message: string } }).error.message;
    } catch {
      // not our JSON error
    }
    throw new CliError(`${r.status} from ${new URL(url).pathname}: ${msg}`);
  }
  return JSON.parse(text) as T;
}

interface Totals {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  cost_exact: string;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i >= r.length - 6 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd());
}

const usageCommand: Command = async ({ positionals, values, print, json }) => {
  const team = checkTeam(positionals[0]);
  const q = new URLSearchParams({ team });
  if (values.from) q.set("from", String(values.from));
  if (values.to) q.set("to", String(values.to));
  if (values["group-by"]) q.set("group_by", String(values["group-by"]));
  const u = await adminGet<{ from: string; to: string; group_by: string[]; totals: Totals; groups: (Totals & Record<string, unknown>)[] }>(
    `${baseUrl(values)}/v1/usage?${q}`,
  );
  if (json) return print(JSON.stringify(u));
  print(`team ${team}, ${u.from} .. ${u.to} (UTC)`);
  const cols = ["requests", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "cost_exact"] as const;
  const row = (label: string[], t: Totals) => [...label, ...cols.map((c) => String(t[c]))];
  const rows = [[...u.group_by, ...cols.map((c) => (c === "cost_exact" ? "cost_usd" : c))]];
  for (const g of u.groups) rows.push(row(u.group_by.map((k) => String(g[k] ?? "-")), g));
  rows.push(row(u.group_by.length ? ["total", ...u.group_by.slice(1).map(() => "")] : [], u.totals));
  for (const line of table(rows)) print(line);
};

const auditVerify: Command = async ({ positionals, values, print, json }) => {
  const team = checkTeam(positionals[0]);
  const base = baseUrl(values);
  const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
  const q = (path: string, cursor: number) => `${base}${path}?team=${encodeURIComponent(team)}&cursor=${cursor}&limit=5000`;
  const unsignedThrough = values["unsigned-through"] === undefined ? 0 : Number(values["unsigned-through"]);
  if (!Number.isInteger(unsignedThrough) || unsignedThrough < 0) throw new CliError("--unsigned-through takes a record seq");
  const r = await verifyChain((cursor) => adminGet<AuditPage>(q("/v1/audit/export", cursor)), {
    hash: sha256,
    fetchTotals: (cursor) => adminGet<AuditTotalsPage>(q("/v1/audit/totals", cursor)),
    unsignedThrough,
  });
  if (json) print(JSON.stringify({ team, ...r }));
  else if (r.ok) {
    print(`audit chain of ${team} intact: ${r.checked} records, rollups and budget windows match, head seq ${r.head?.seq ?? 0} ${r.head?.hash ?? ""}`);
    print(r.seal === "valid" ? "head signed with AUDIT_SIGNING_KEY" : `WARNING: ${r.note}; a writer of the ledger's storage could re-chain it`);
  }
  else print(`audit chain of ${team} BROKEN at seq ${r.mismatch!.seq}, record ${r.mismatch!.id}: ${r.mismatch!.reason} (${r.checked} records checked)`);
  if (!r.ok) throw new CliError(`record ${r.mismatch!.id} does not match the chain`);
};

const auditAdmin: Command = async ({ target, values, print, json }) => {
  const team = values.team === undefined ? null : checkTeam(String(values.team));
  // Keys are listed by id; a key's team is in its detail, so filter by team on target or detail.
  const where = team === null ? "" : `WHERE target = ${sqlValue(team)} OR detail LIKE ${sqlValue(`%"team":"${team}"%`)} OR target IN (SELECT id FROM api_keys WHERE team_id = ${sqlValue(team)})`;
  const rows = await d1(target, `SELECT id, at, actor, action, target, detail FROM admin_audit ${where} ORDER BY id`);
  if (json) return print(JSON.stringify(rows));
  if (rows.length === 0) return print("no admin changes recorded");
  for (const r of rows) print(`${new Date(Number(r.at)).toISOString()}  ${r.actor}  ${r.action}  ${r.target}${r.detail ? `  ${r.detail}` : ""}`);
};

export const ledgerCommands: Record<string, Command> = {
  usage: usageCommand,
  "audit verify": auditVerify,
  "audit admin": auditAdmin,
};
