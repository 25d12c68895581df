import type { Context } from "hono";
import * as z from "zod";
import type { ExportedEvent } from "../ledger/event-book";
import { ledgerClient } from "../ledger/client";
import { TOKEN_FIELDS } from "../ledger/cost";
import type { HonoEnv } from "./app";
import { parseWith, readJsonBody } from "./body";
import { GatewayError } from "../core/errors";
import { generationOut } from "./usage";

/**
 * Per-request records out of the ledger: the team's export (NDJSON or CSV, streamed page by page with a
 * cursor), the operator's audit-chain export, and the acknowledgement that lets retention prune.
 */
const PAGE = 500;


const Instant = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined) return undefined;
    const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: "custom", message: "expected YYYY-MM-DD or an ISO date-time" });
      return z.NEVER;
    }
    return ms;
  });

const ExportParams = z.object({
  format: z.enum(["ndjson", "csv"]).default("ndjson"),
  /** Resume after this seq (the last record's `seq` of a previous export). */
  cursor: z.coerce.number().int().min(0).default(0),
  /** Most records to send in this response (default: all). */
  limit: z.coerce.number().int().positive().optional(),
  from: Instant,
  /** Exclusive; a bare date means the start of that day. */
  to: Instant,
  team: z.string().optional(),
});

type ExportRecord = ReturnType<typeof generationOut> & { seq: number; hash: string };

function exportRecord(e: ExportedEvent, team: string): ExportRecord {
  return { seq: e.seq, ...generationOut(e, team), hash: e.hash };
}

const CSV_COLUMNS = [
  "seq", "id", "created_at", "key_id", "user", "model_requested", "model", "provider", "status", "streamed", "cancelled",
  "estimated", ...TOKEN_FIELDS, "cost_exact",
  "latency_ms", "ttfb_ms", "attempts", "hash",
] as const;

/**
 * A spreadsheet runs a cell that starts with = + - @ (or a tab or CR before one) as a formula; text cells that
 * start so (an end user's id, a model name) get a leading apostrophe, which spreadsheets show as text. Numbers
 * and booleans are written as they are: none of them is negative.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

function csvCell(v: unknown): string {
  let s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  if (typeof v !== "number" && typeof v !== "boolean" && FORMULA_START.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** GET /v1/usage/export?format=ndjson|csv&cursor=&limit=&from=&to=: every per-request record, in arrival order. */
export async function usageExport(c: Context<HonoEnv>): Promise<Response> {
  const p = parseWith(ExportParams, c.req.query());
  const team = c.get("caller").team;
  const stub = ledgerClient(c.env, team);
  const encoder = new TextEncoder();
  let cursor = p.cursor;
  let left = p.limit ?? Number.MAX_SAFE_INTEGER;
  let header = p.format === "csv";
  let done = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (done) return controller.close();
      const page = await stub.exportPage(cursor, Math.min(PAGE, left), p.from, p.to);
      let out = "";
      if (header) {
        out += `${CSV_COLUMNS.join(",")}\n`;
        header = false;
      }
      for (const e of page.events) {
        const r = exportRecord(e, team);
        out += p.format === "csv" ? `${CSV_COLUMNS.map((k) => csvCell(r[k])).join(",")}\n` : `${JSON.stringify(r)}\n`;
        cursor = e.seq;
      }
      left -= page.events.length;
      if (page.next === null || left <= 0) done = true;
      if (out) controller.enqueue(encoder.encode(out));
      if (done) controller.close();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": p.format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
      "x-export-cursor": String(p.cursor),
    },
  });
}

function requireOperator(c: Context<HonoEnv>): string {
  const caller = c.get("caller");
  if (caller.key !== null) throw new GatewayError("forbidden", "this endpoint takes the operator's admin token");
  return caller.team;
}

const AuditParams = z.object({
  cursor: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().positive().max(5000).default(1000),
  team: z.string(),
});

/** GET /v1/audit/export?team=&cursor=: the audit chain, one page, for `switchyard audit verify`. */
export async function auditExport(c: Context<HonoEnv>): Promise<Response> {
  const team = requireOperator(c);
  const p = parseWith(AuditParams, c.req.query());
  const page = await ledgerClient(c.env, team).auditPage(p.cursor, p.limit);
  return c.json({ team, anchor: page.anchor, head: page.head, records: page.rows, next_cursor: page.next, seal: page.seal, retention: page.retention, now: page.now });
}

/** GET /v1/audit/totals?team=&cursor=: rollups and budget windows, for `audit verify` to recompute from the records. */
export async function auditTotals(c: Context<HonoEnv>): Promise<Response> {
  const team = requireOperator(c);
  const p = parseWith(AuditParams, c.req.query());
  return c.json({ team, ...(await ledgerClient(c.env, team).auditTotals(p.cursor, p.limit)) });
}

const AckBody = z.strictObject({ cursor: z.number().int().min(0) });

/** POST /v1/usage/export/ack?team= {"cursor": seq}: an export sink has stored every record up to seq. */
export async function exportAck(c: Context<HonoEnv>): Promise<Response> {
  const team = requireOperator(c);
  const body = parseWith(AckBody, (await readJsonBody(c)).json);
  const r = await ledgerClient(c.env, team).ackExport(body.cursor);
  return c.json({ team, watermark: r.watermark });
}
