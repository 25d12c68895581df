import { parseArgs } from "node:util";
import { currentConfig, PREFILL_MEANING, pushConfig, readConfigFile, validateConfig } from "./commands/config";
import { createKey, createTeam, listKeys, revokeKey } from "./commands/keys";
import { ledgerCommands, LEDGER_USAGE } from "./commands/ledger";
import { policyCommands, POLICY_USAGE } from "./commands/policy";
import { seedDemo } from "./commands/seed";
import { CliError, type Target } from "./wrangler";

const USAGE = `switchyard — admin CLI for the Switchyard gateway (writes through wrangler)

Usage: switchyard <command> [options] [--local | --remote [--env NAME]]

  teams create <team>
  keys create --team <team> [--name N] [--scopes inference,usage:read] [--expires 30d] [--json]
  keys list --team <team> [--json]
  keys revoke <keyId>
  config validate <file>      gateway config (JSON or YAML): custom providers, extra models and prices;
                              a provider's prefill (none | assistant | prefix) says whether a cut answer
                              may be continued there
  config push <file>
  config show
${LEDGER_USAGE}
${POLICY_USAGE}

--local (default) writes to the local state of \`npm run dev\` / \`npm start\` (.wrangler/state);
--remote writes to the deployed D1 database and KV namespace of wrangler.toml (or its --env).`;

export interface CommandContext {
  target: Target;
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
  json: boolean;
  print: (line: string) => void;
}

export type Command = (ctx: CommandContext) => Promise<void>;

const COMMANDS: Record<string, Command> = {
  "teams create": async ({ target, positionals, print, json }) => {
    const team = positionals[0];
    const created = await createTeam(target, team ?? "");
    print(json ? JSON.stringify({ team, created }) : created ? `created team ${team}` : `team ${team} already exists`);
  },
  "keys create": async ({ target, values, print, json }) => {
    const k = await createKey(target, {
      team: String(values.team ?? ""),
      name: values.name as string | undefined,
      scopes: values.scopes as string | undefined,
      expires: values.expires as string | undefined,
    });
    if (json) print(JSON.stringify(k));
    else {
      print(`created key ${k.keyId} for team ${k.team} (scopes: ${k.scopes.join(", ")}${k.expiresAt ? `; expires ${k.expiresAt}` : ""})`);
      print(`  ${k.key}`);
      print("This is the only time the key is shown; only its SHA-256 hash is stored.");
    }
  },
  "keys list": async ({ target, values, print, json }) => {
    const keys = await listKeys(target, String(values.team ?? ""));
    if (json) return print(JSON.stringify(keys));
    if (keys.length === 0) return print("no keys");
    for (const k of keys) {
      const state = k.revokedAt ? `revoked ${k.revokedAt}` : k.expiresAt && Date.parse(k.expiresAt) <= Date.now() ? "expired" : "active";
      print(`${k.keyId}  ${k.prefix}  ${k.name ?? "-"}  ${k.scopes.join(",")}  created ${k.createdAt}  ${state}`);
    }
  },
  "keys revoke": async ({ target, positionals, print, json }) => {
    const id = positionals[0] ?? "";
    await revokeKey(target, id);
    print(json ? JSON.stringify({ keyId: id, revoked: true }) : `revoked ${id}`);
  },
  "config validate": async ({ positionals, print, json }) => {
    const file = positionals[0] ?? "";
    const cfg = validateConfig(readConfigFile(file), file);
    const prefill = cfg.providers.map((p) => ({ provider: p.id, prefill: p.prefill }));
    if (json) return print(JSON.stringify({ valid: true, providers: cfg.providers.length, models: cfg.models.length, prefill }));
    print(`${file} is valid (${cfg.providers.length} providers, ${cfg.models.length} models)`);
    for (const p of prefill) print(`  ${p.provider}: prefill ${p.prefill} — ${PREFILL_MEANING[p.prefill]}`);
  },
  "config push": async ({ target, positionals, print, json }) => {
    const r = await pushConfig(target, positionals[0] ?? "");
    print(json ? JSON.stringify(r) : `pushed gateway config version ${r.version} (${r.providers} providers, ${r.models} models); Workers pick it up within 45 s`);
  },
  "config show": async ({ target, print }) => {
    const c = await currentConfig(target);
    print(c ? JSON.stringify(c, null, 2) : "no gateway config pushed; the built-in catalog is in force");
  },
  // Used by `npm run dev` / `npm start`; not listed in the usage text.
  "dev seed": async ({ target, print }) => {
    if (target.remote) throw new CliError("dev seed is for local state only");
    print(JSON.stringify(await seedDemo(target)));
  },
};

Object.assign(COMMANDS, policyCommands);

Object.assign(COMMANDS, ledgerCommands);

/** Registers a command (`group verb`) from another module. */
export function registerCommand(name: string, cmd: Command): void {
  COMMANDS[name] = cmd;
}

export async function main(argv: string[], print: (line: string) => void = (l) => console.log(l)): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        local: { type: "boolean" },
        remote: { type: "boolean" },
        env: { type: "string" },
        "persist-to": { type: "string" },
        json: { type: "boolean" },
        team: { type: "string" },
        name: { type: "string" },
        scopes: { type: "string" },
        expires: { type: "string" },
        from: { type: "string" },
        to: { type: "string" },
        "group-by": { type: "string" },
        url: { type: "string" },
        "unsigned-through": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  // Two-word commands (`keys create`), else one-word ones (`usage <team>`).
  const two = positionals.slice(0, 2).join(" ");
  const name = COMMANDS[two] ? two : (positionals[0] ?? "");
  const cmd = COMMANDS[name];
  if (values.help || !cmd) {
    (values.help ? console.log : console.error)(USAGE);
    return values.help ? 0 : 2;
  }
  if (values.local && values.remote) {
    console.error("choose one of --local and --remote");
    return 2;
  }
  const target: Target = { remote: values.remote === true, env: values.env, persistTo: values["persist-to"] };
  try {
    await cmd({ target, positionals: positionals.slice(name.split(" ").length), values, json: values.json === true, print });
    return 0;
  } catch (err) {
    if (err instanceof CliError) {
      console.error(`error: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
