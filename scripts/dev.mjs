// `npm run dev`: migrations, seed team `demo` and print its key, then `wrangler dev` with the mock provider on.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { localVars, ROOT, seed } from "./gateway.mjs";

const port = process.env.PORT ?? "8787";
const { key } = await seed();
const vars = localVars({ MOCK_PROVIDER: process.env.MOCK_PROVIDER ?? "on" });
printBanner(`http://127.0.0.1:${port}`, key);

const require = createRequire(import.meta.url);
const wranglerBin = join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
const args = ["dev", "--ip", "127.0.0.1", "--port", port, ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`])];
const child = spawn(process.execPath, [wranglerBin, ...args], { cwd: ROOT, stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("close", (code) => process.exit(code ?? 0));

export function printBanner(url, key) {
  console.log(`
Switchyard gateway: ${url}
Team demo, API key:  ${key}

  curl ${url}/v1/chat/completions \\
    -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" \\
    -d '{"model":"mock/echo","messages":[{"role":"user","content":"Hello!"}]}'
`);
}
