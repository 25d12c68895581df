import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startE2E, type E2EStack, type LocalGateway } from "./gateway";

/*
 * Request framing a client forges on a raw socket (fetch and SDKs cannot send it): the gateway on workerd,
 * as served by `npm start`, must size and cap a body by the bytes that arrive, never by what the headers
 * claim, and must not read a huge body into memory to find out.
 */

let stack: E2EStack;
let gateway: LocalGateway;
let key: string;
let port: number;

const MINI = "openai/gpt-4o-mini";

beforeAll(async () => {
  // $0.01 a month: a 400 KB prompt's worst case at gpt-4o-mini's prompt price ($0.00000015) is $0.06.
  stack = await startE2E({ providers: ["openai"], vars: { BODY_TIMEOUT_MS: "2000" }, policy: { budgets: [{ scope: "team", period: "month", limit_usd: "0.01" }] } });
  ({ gateway, key } = stack);
  port = Number(new URL(gateway.url).port);
});

afterAll(() => stack?.stop());

interface RawAnswer {
  /** 0: the connection closed (or was reset) with no answer read. */
  status: number;
  /** The socket error that ended it, if any. */
  failure: string;
  head: string;
  body: string;
  /** Body bytes written before the answer came (or the socket closed). */
  sent: number;
}

/**
 * Sends a request head, then body bytes from `next()` (null: stop) until the gateway answers, the socket
 * closes or `limitMs` passes; resolves with the answer. Never sends more once an answer has begun.
 */
function raw(head: string, next: () => Buffer | null | Promise<Buffer | null>, limitMs = 20_000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    let sent = 0;
    let done = false;
    let failure = "";
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const [h = "", ...rest] = answer.split("\r\n\r\n");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(h)?.[1] ?? 0);
      resolve({ status, failure, head: h, body: rest.join("\r\n\r\n"), sent });
    };
    const timer = setTimeout(finish, limitMs);
    socket.on("data", (d) => {
      answer += d.toString("latin1");
      // The whole answer: a Content-Length body fully read (error answers carry one).
      const m = /content-length: (\d+)/i.exec(answer);
      const end = answer.indexOf("\r\n\r\n");
      if (m && end >= 0 && answer.length - end - 4 >= Number(m[1])) finish();
    });
    socket.on("close", finish);
    socket.on("error", (err) => {
      failure = String(err);
      finish();
    });
    socket.on("connect", async () => {
      socket.write(head);
      for (;;) {
        if (done || answer.length > 0) return;
        const chunk = await next();
        if (chunk === null || done) return;
        sent += chunk.length;
        if (!socket.write(chunk)) await new Promise((r) => socket.once("drain", r).once("close", r));
      }
    });
  });
}

function headFor(headers: Record<string, string>): string {
  const lines = Object.entries({ host: `127.0.0.1:${port}`, authorization: `Bearer ${key}`, "content-type": "application/json", ...headers }).map(([k, v]) => `${k}: ${v}`);
  return `POST /v1/chat/completions HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
}

function chunk(data: Buffer | string): Buffer {
  const b = Buffer.from(data);
  return Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from("\r\n")]);
}

/** A body sent as the given pieces, then the end. */
function pieces(...parts: Buffer[]): () => Buffer | null {
  let i = 0;
  return () => parts[i++] ?? null;
}

/** The workerd process serving `port`: the owner of its listening socket. */
function pidListening(p: number): number {
  const hex = `:${p.toString(16).toUpperCase().padStart(4, "0")}`;
  const inodes = new Set<string>();
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(f, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(hex) && cols[3] === "0A") inodes.add(cols[9]!);
    }
  }
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return Number(pid);
      } catch {
        // gone meanwhile
      }
    }
  }
  throw new Error(`no process listens on ${p}`);
}

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
}

const tagged = (tag: string) => stack.upstream.log.filter((e) => JSON.stringify(e.body).includes(`tag=${tag}]]`));

describe("forged framing", () => {
  it("Transfer-Encoding: chunked with Content-Length: 1 and a 400 KB prompt is refused, not held as a tiny request", async () => {
    const body = (tag: string) => JSON.stringify({ model: MINI, max_tokens: 1, messages: [{ role: "user", content: `${"x".repeat(400_000)} [[tag=${tag}]]` }] });
    // The honest request is over the budget's worst case; a small one fits.
    const honest = await fetch(`${gateway.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: body("honest") });
    expect(honest.status, await honest.text()).toBe(402);
    const small = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MINI, max_tokens: 1, messages: [{ role: "user", content: "hi [[tag=small]]" }] }),
    });
    expect(small.status, await small.text()).toBe(200);

    const a = await raw(headFor({ "transfer-encoding": "chunked", "content-length": "1" }), pieces(chunk(body("forged")), Buffer.from("0\r\n\r\n")));
    expect(a.status, `${a.failure} ${a.body}`).toBe(400);
    expect(JSON.parse(a.body).error.message).toMatch(/Transfer-Encoding and Content-Length/);
    expect(tagged("forged")).toEqual([]);
  });

  it("a 200 MB body with the same headers is answered without being read, and workerd's memory stays flat", async () => {
    const pid = pidListening(port);
    expect(readFileSync(`/proc/${pid}/comm`, "utf8").trim()).toBe("workerd");
    const before = rssKb(pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssKb(pid))), 20);
    const piece = chunk(Buffer.alloc(1 << 20, "y"));
    const total = 200;
    try {
      const framings: Record<string, string>[] = [{ "transfer-encoding": "chunked", "content-length": "1" }, { "transfer-encoding": "chunked" }];
      for (const headers of framings) {
        let n = 0;
        const start = chunk(`{"model":"${MINI}","messages":[{"role":"user","content":"[[tag=huge]]`);
        const a = await raw(headFor(headers), () => (n === 0 ? (n++, start) : n++ <= total ? piece : null));
        // Refused after reading a bounded part of it: the answer, or (the client still sending past what the
        // gateway drains) the reset of the connection that carried it. Never served, never read whole.
        if (a.status === 0) expect(a.failure, `${JSON.stringify(headers)}: closed with no answer after ${a.sent} bytes`).toMatch(/ECONNRESET|EPIPE/);
        else expect([400, 413], `${JSON.stringify(headers)}: ${a.status} ${a.body}`).toContain(a.status);
        expect(a.sent, "stopped long before the whole body").toBeLessThan(total * piece.length);
      }
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, rssKb(pid));
    expect((peak - before) / 1024, `workerd RSS ${before} kB → peak ${peak} kB`).toBeLessThan(100);
    expect(tagged("huge")).toEqual([]);
  });

  it("a malformed chunked body → 400, not 500", async () => {
    for (const bad of ["zz\r\n{}\r\n0\r\n\r\n", "5\r\n{}\r\n0\r\n\r\n", "ffffffffffffffffff\r\n{"]) {
      const a = await raw(headFor({ "transfer-encoding": "chunked" }), pieces(Buffer.from(bad)), 5_000);
      expect(a.status, `${JSON.stringify(bad)}: ${a.failure} ${a.body}`).toBe(400);
    }
  });

  it("a body sent a byte at a time past BODY_TIMEOUT_MS → 408", async () => {
    const text = JSON.stringify({ model: MINI, messages: [{ role: "user", content: "slow [[tag=slow]]" }] });
    let i = 0;
    // One byte each 300 ms: the whole body would take ~20 s.
    const a = await raw(headFor({ "content-length": String(text.length) }), async () => {
      if (i > 0) await new Promise((r) => setTimeout(r, 300));
      return i < text.length ? Buffer.from(text[i++]!) : null;
    }, 10_000);
    expect(a.status, `${a.failure} ${a.body}`).toBe(408);
    expect(tagged("slow")).toEqual([]);
  });
});
