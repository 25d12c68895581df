import { GatewayError } from "../core/errors";
import type { GatewayRequest } from "../core/request";
import type { PolicyDocument } from "../policy/schema";
import type { Plan, PlannedAttempt } from "../routing/plan";
import type { Json } from "../formats/translate-common";

/** Features a policy may allow (the gateway can price them), and those it cannot price, which stay refused. */
export const PRICED_PREMIUM_FEATURES = ["web_search"] as const;
export const UNPRICED_PREMIUM_FEATURES = ["service_tier", "web_search_options", "web_plugin", "server_tools", "mcp_servers", "context_1m"] as const;
export type PremiumFeature = (typeof PRICED_PREMIUM_FEATURES)[number] | (typeof UNPRICED_PREMIUM_FEATURES)[number];

/*
 * Features a provider bills beyond its token prices: a priority (or flex) service tier, web search (OpenAI's
 * `web_search_options`, OpenRouter's `web` plugin, Anthropic's web search tool), Anthropic's other server
 * tools (web fetch, code execution, ...), MCP servers, the 1M-token context beta. Served at token prices they
 * would cost the provider more than the ledger records and than budgets hold, so each is refused with a 400
 * naming its field unless the team's policy lists it in `features.allow` — which only features the gateway
 * can price may be: today Anthropic web search, at the catalog's `web_search` price per search that the
 * provider's usage reports (`server_tool_use.web_search_requests`), held against budgets at the tools' max_uses.
 */

interface PremiumUse {
  feature: PremiumFeature;
  /** The request field, as the client wrote it. */
  field: string;
}

const STANDARD_TIERS = new Set(["auto", "default"]);
const CLIENT_TOOL_TYPES = new Set(["function", "custom"]);

function premiumUses(greq: GatewayRequest): PremiumUse[] {
  const b = greq.body;
  const uses: PremiumUse[] = [];
  if (b.service_tier !== undefined && b.service_tier !== null && !STANDARD_TIERS.has(b.service_tier as string)) {
    uses.push({ feature: "service_tier", field: `service_tier ${JSON.stringify(b.service_tier)}` });
  }
  if (b.web_search_options !== undefined && b.web_search_options !== null) uses.push({ feature: "web_search_options", field: "web_search_options" });
  if (Array.isArray(b.plugins)) {
    b.plugins.forEach((p: Json, i) => {
      if (p?.id === "web") uses.push({ feature: "web_plugin", field: `plugins[${i}] (web)` });
    });
  }
  if (Array.isArray(b.tools)) {
    b.tools.forEach((t: Json, i) => {
      const type = t?.type;
      if (typeof type !== "string" || CLIENT_TOOL_TYPES.has(type)) return;
      uses.push({ feature: type.startsWith("web_search_") ? "web_search" : "server_tools", field: `tools[${i}] (${type})` });
    });
  }
  if (b.mcp_servers !== undefined && b.mcp_servers !== null) uses.push({ feature: "mcp_servers", field: "mcp_servers" });
  if (greq.anthropicBeta?.includes("context-1m")) uses.push({ feature: "context_1m", field: "anthropic-beta context-1m" });
  return uses;
}

function refuse(message: string): never {
  throw new GatewayError("premium_feature", message);
}

/**
 * Refuses the request when it uses a premium feature its policy does not allow or the gateway cannot price;
 * with web search allowed, keeps the attempts whose model has a search price and sets the request's
 * `webSearches` bound for the budget hold. A request with none of these costs a few property reads.
 */
export function checkPremium(plan: Plan, greq: GatewayRequest, policy: PolicyDocument): Plan {
  const uses = premiumUses(greq);
  if (uses.length === 0) return plan;
  const allowed = policy.features.allow;
  const allowable = PRICED_PREMIUM_FEATURES.join(", ");
  for (const u of uses) {
    if (!(PRICED_PREMIUM_FEATURES as readonly string[]).includes(u.feature)) {
      refuse(`${u.field} is billed by the provider beyond token prices, which the gateway cannot price, so it is refused; features.allow in the team policy can allow only ${allowable}`);
    }
    if (!allowed.includes(u.feature)) {
      refuse(`${u.field} is billed by the provider beyond token prices; the team policy must allow it with features.allow: ["${u.feature}"]`);
    }
  }
  // Only web search is priced: every search tool must bound its searches, so the budget hold can.
  let searches = 0;
  (greq.body.tools as Json[]).forEach((t, i) => {
    if (typeof t?.type !== "string" || !t.type.startsWith("web_search_")) return;
    if (!Number.isInteger(t.max_uses) || (t.max_uses as number) < 1) refuse(`tools[${i}].max_uses is required with web search, so that its cost can be held against budgets`);
    searches += t.max_uses as number;
  });
  greq.webSearches = searches;
  // Only Anthropic-format providers report the searches they ran; only a model with a price is sent one.
  const kept: PlannedAttempt[] = [];
  for (const a of plan.attempts) {
    if (a.provider.format === "anthropic" && a.model.pricing.web_search !== undefined) kept.push(a);
    else plan.excluded.push({ model: a.model.id, provider: a.provider.id, reason: "no price for web search" });
  }
  if (kept.length === 0) refuse(`no model of this request has a price for web search (${plan.attempts.map((a) => a.model.id).join(", ")})`);
  return { ...plan, attempts: kept };
}
