/**
 * A scriptable provider for tests: a real HTTP server on 127.0.0.1 speaking each provider's wire format
 * (upstream-formats.ts). A request picks its answer and its faults with a `[[key=value;...]]` directive
 * (upstream-directives.ts); the faults are acted on in one place for every format (upstream-faults.ts).
 *
 * GET /__log?tag=NAME returns what the server received for the tag: [{ at, path, auth, beta, body, closed_at, completed }]
 * (`contains=TEXT` instead: every request whose body holds TEXT anywhere),
 * where closed_at is when the connection of that request closed and completed whether the whole answer was sent.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { continueScripted, directives, forModel } from "./upstream-directives";
import { faultBeforeAnswer, sendReply } from "./upstream-faults";
import { encoderFor, errorBodyFor, modelOf } from "./upstream-formats";

export interface ReceivedRequest {
  at: number;
  path: string;
  auth: string | null;
  /** The anthropic-beta header, if one came. */
  beta: string | null;
  body: Record<string, unknown>;
  /** When the response's connection closed (null while open). */
  closed_at: number | null;
  /** Whether the whole response was written before it closed. */
  completed: boolean;
}

export interface FakeUpstream {
  server: Server;
  port: number;
  log: ReceivedRequest[];
  close(): Promise<void>;
}

export async function startFakeUpstream(port = 0): Promise<FakeUpstream> {
  const log: ReceivedRequest[] = [];
  const counts = new Map<string, number>();
  /** The request's number among its tag's requests, and among those for its model. */
  const count = (key: string) => {
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    return n;
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method === "GET" && url.pathname === "/__log") {
      const tag = url.searchParams.get("tag");
      const contains = url.searchParams.get("contains");
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify(
          log.filter((r) => (tag === null || (directives(r.body).tag ?? null) === tag) && (contains === null || JSON.stringify(r.body).includes(contains))),
        ),
      );
      return;
    }
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (raw += c));
    req.on("end", async () => {
      let body: Record<string, unknown> = {};
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      } catch {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "invalid JSON", type: "invalid_request_error" } }));
        return;
      }
      const all = directives(body);
      const model = modelOf(url.pathname, body);
      const d = forModel(all, model);
      const tag = d.tag ?? "";
      const n = count(tag);
      const nModel = count(`${tag}@${model}`);
      const scoped = (k: string) => (all[`${k}@${model}`] !== undefined ? nModel : n);
      // A stream's faults for the first N requests only (a scoped faults_first counts that model's requests).
      if (d.faults_first !== undefined && scoped("faults_first") > Number(d.faults_first)) {
        delete d.cut_after;
        delete d.stall_after;
        delete d.error_event_after;
      }
      continueScripted(body, d);
      const entry: ReceivedRequest = {
        at: Date.now(),
        path: url.pathname,
        auth: req.headers.authorization ?? (req.headers["x-api-key"] as string) ?? (req.headers["x-goog-api-key"] as string) ?? null,
        beta: (req.headers["anthropic-beta"] as string | undefined) ?? null,
        body,
        closed_at: null,
        completed: false,
      };
      log.push(entry);
      res.on("close", () => {
        entry.closed_at = Date.now();
        entry.completed = res.writableFinished;
      });
      const ctx = { credentials: entry.auth, nth: scoped("fail_first"), body, errorBody: errorBodyFor(url.pathname) };
      try {
        if (await faultBeforeAnswer(req, res, d, ctx)) return;
        const encoder = encoderFor(url.pathname);
        if (!encoder) {
          res.writeHead(404, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { message: `no route ${url.pathname}` } }));
          return;
        }
        await sendReply(res, d, encoder(req, body, d), ctx);
      } catch (err) {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(err));
      }
    });
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    log,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
