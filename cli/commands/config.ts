import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { CONFIG_KV_KEY, describeConfigError, GatewayConfig, type StoredConfig } from "../../src/catalog/config-schema";
import { CliError, d1, kvGet, kvPut, sqlValue, type Target } from "../wrangler";
import { settleNewest } from "./settle";

/** Reads a config file: JSON (.json) or YAML (anything else; YAML is a superset of JSON). */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return file.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new CliError(`${file} is not valid ${file.endsWith(".json") ? "JSON" : "YAML"}: ${(err as Error).message}`);
  }
}

/** What each `prefill` of a custom provider means, as `config validate` prints it. */
export const PREFILL_MEANING: Record<GatewayConfig["providers"][number]["prefill"], string> = {
  none: "a cut answer is never continued there (the default)",
  assistant: "continues a trailing assistant message as is (llama.cpp, vLLM with continue_final_message)",
  prefix: 'continues an assistant message sent with "prefix": true (the Mistral/DeepSeek flag)',
};

/** Validates with the Worker's schema; the error names the path of the first problem. */
export function validateConfig(doc: unknown, file: string): GatewayConfig {
  const r = GatewayConfig.safeParse(doc ?? {});
  if (!r.success) throw new CliError(`${file}: ${describeConfigError(r.error)}`);
  return r.data;
}

function actor(): string {
  return process.env.SWITCHYARD_ACTOR ?? process.env.USER ?? "cli";
}

/**
 * Stores the document as the next version in D1 (with an audit row, in one statement batch) and makes it
 * current in KV, where Workers read it. Returns the version.
 */
export async function pushConfig(t: Target, file: string): Promise<{ version: number; providers: number; models: number }> {
  const doc = readConfigFile(file);
  const cfg = validateConfig(doc, file);
  const now = Date.now();
  const document = JSON.stringify(doc ?? {});
  const rows = await d1(
    t,
    `INSERT INTO gateway_config (version, document, pushed_by, pushed_at)
       SELECT COALESCE(MAX(version), 0) + 1, ${sqlValue(document)}, ${sqlValue(actor())}, ${now} FROM gateway_config;
     INSERT INTO admin_audit (at, actor, action, target, detail)
       SELECT ${now}, ${sqlValue(actor())}, 'config.push', 'gateway', 'version ' || MAX(version) FROM gateway_config;
     SELECT version FROM gateway_config WHERE pushed_at = ${now} AND document = ${sqlValue(document)} ORDER BY version DESC LIMIT 1;`,
  );
  const version = Number(rows[0]?.version);
  if (!Number.isInteger(version) || version < 1) throw new CliError("the config version was not recorded");
  const stored: StoredConfig = { version, document: doc ?? {}, pushed_at: new Date(now).toISOString().slice(0, 10) };
  const write = (v: StoredConfig) => kvPut(t, CONFIG_KV_KEY, JSON.stringify(v));
  await write(stored);
  // A push racing this one may have reached KV first with an older version: KV ends with the newest.
  await settleNewest(stored, () => newestConfig(t), write);
  return { version, providers: cfg.providers.length, models: cfg.models.length };
}

/** The newest version in D1, as KV holds it. */
async function newestConfig(t: Target): Promise<StoredConfig | null> {
  const [row] = await d1(t, `SELECT version, document, pushed_at FROM gateway_config ORDER BY version DESC LIMIT 1`);
  if (!row) return null;
  return { version: Number(row.version), document: JSON.parse(String(row.document)) as StoredConfig["document"], pushed_at: new Date(Number(row.pushed_at)).toISOString().slice(0, 10) };
}

export async function currentConfig(t: Target): Promise<StoredConfig | null> {
  const text = await kvGet(t, CONFIG_KV_KEY);
  if (!text || text.trim() === "") return null;
  try {
    return JSON.parse(text) as StoredConfig;
  } catch {
    return null;
  }
}
