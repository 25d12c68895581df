// `npm start`: the gateway on workerd, on a socket of its own (no development proxy, no Miniflare entry
// Worker in front), with local state.
import { localVars, seed, startGateway } from "./gateway.mjs";

const port = Number(process.env.PORT ?? 8787);
const { key } = await seed();
const gw = await startGateway({ port, vars: localVars({ MOCK_PROVIDER: process.env.MOCK_PROVIDER ?? "on" }) });
console.log(`
Switchyard gateway, served on workerd directly: ${gw.url}
Usage page:         ${gw.url}/dashboard
Team demo, API key: ${key}

  curl ${gw.url}/v1/chat/completions \\
    -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" \\
    -d '{"model":"mock/echo","messages":[{"role":"user","content":"Hello!"}]}'
`);
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    await gw.dispose();
    process.exit(0);
  });
}
