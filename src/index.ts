import { requireKey } from "./auth/middleware";
import { newApp } from "./http/app";
import { chatCompletions } from "./http/chat";
import { anthropicErrors, messages } from "./http/messages";
import { listModels } from "./http/models";
import { generation, keyInfo, usage } from "./http/usage";

export { Ledger } from "./ledger/ledger-do";
export { Health } from "./routing/health-do";

const app = newApp();

app.post("/v1/chat/completions", requireKey("inference"), chatCompletions);
app.post("/v1/messages", anthropicErrors, requireKey("inference"), messages);
app.get("/v1/models", listModels);
app.get("/v1/usage", requireKey("usage:read", { allowAdmin: true }), usage);
app.get("/v1/generation", requireKey("usage:read", { allowAdmin: true }), generation);
app.get("/v1/key", requireKey("inference"), keyInfo);

export default app;
