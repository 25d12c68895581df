import { requireKey } from "./auth/middleware";
import { newApp } from "./http/app";
import { chatCompletions } from "./http/chat";
import { countTokens } from "./http/count-tokens";
import { embeddings } from "./http/embeddings";
import { anthropicErrors, messages } from "./http/messages";
import { listModels } from "./http/models";
import { responses } from "./http/responses";
import { generation, generations, keyInfo, usage } from "./http/usage";
import { auditExport, auditTotals, exportAck, usageExport } from "./http/usage-export";

export { Ledger } from "./ledger/ledger-do";
export { Health } from "./routing/health-do";

const app = newApp();

app.post("/v1/chat/completions", requireKey("inference"), chatCompletions);
app.post("/v1/messages", anthropicErrors, requireKey("inference"), messages);
app.post("/v1/responses", requireKey("inference"), responses);
app.post("/v1/messages/count_tokens", anthropicErrors, requireKey("inference"), countTokens);
app.post("/v1/embeddings", requireKey("inference"), embeddings);
app.get("/v1/models", listModels);
app.get("/v1/usage", requireKey("usage:read", { allowAdmin: true }), usage);
app.get("/v1/generation", requireKey("usage:read", { allowAdmin: true }), generation);
app.get("/v1/generations", requireKey("usage:read", { allowAdmin: true }), generations);
// Either scope: a read-only key is what a team hands to whoever watches the spend (the dashboard).
app.get("/v1/key", requireKey(["inference", "usage:read"]), keyInfo);
app.get("/v1/usage/export", requireKey("usage:read", { allowAdmin: true }), usageExport);
app.post("/v1/usage/export/ack", requireKey("usage:read", { allowAdmin: true }), exportAck);
app.get("/v1/audit/export", requireKey("usage:read", { allowAdmin: true }), auditExport);
app.get("/v1/audit/totals", requireKey("usage:read", { allowAdmin: true }), auditTotals);

export default app;
