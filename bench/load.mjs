// A small keep-alive HTTP/1.1 load generator: a fixed number of connections, each sending the same
// precomputed request again as soon as the previous response has ended, for a fixed time or count.
// It speaks HTTP on raw sockets (node:net / node:tls) rather than through node:http: on a 2-core machine the
// client shares the CPU with the targets, and a lean client leaves more of it to them. It times each request
// to the first byte of the response body (time to first byte), for streams to the first content token
// (time to first token: an OpenAI chunk with non-empty content), and to the end of the body.
import net from "node:net";
import { performance } from "node:perf_hooks";
import tls from "node:tls";

const CRLF2 = Buffer.from("\r\n\r\n");
const DONE_TAIL = "data: [DONE]";
/** A content token in an OpenAI stream chunk (the first chunk carries only the role, with content ""). */
const TOKEN = /"content":\s*"[^"]/;

/** The bytes of one POST request to `url` with a JSON body and extra headers ({ name: value }). */
export function requestBytes(url, body, headers = {}) {
  const u = new URL(url);
  const payload = Buffer.from(body);
  let head = `POST ${u.pathname}${u.search} HTTP/1.1\r\nhost: ${u.host}\r\ncontent-type: application/json\r\ncontent-length: ${payload.length}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`, "latin1"), payload]);
}

const HEAD = 0;
const FIXED = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_END = 4;
const TRAILERS = 5;
const TO_CLOSE = 6;

/** One keep-alive connection running requests back to back. */
class Connection {
  constructor(run) {
    this.run = run;
    this.socket = null;
    this.busy = false;
  }

  open() {
    const { u } = this.run;
    const port = Number(u.port || (u.protocol === "https:" ? 443 : 80));
    const s = u.protocol === "https:" ? tls.connect({ host: u.hostname, port, servername: u.hostname }) : net.connect({ host: u.hostname, port });
    s.setNoDelay(true);
    // Events of a socket this connection has already let go of are ignored.
    s.on("data", (d) => this.socket === s && this.onData(d));
    s.on("error", () => {});
    s.on("close", () => this.socket === s && this.onClose());
    this.socket = s;
  }

  drop() {
    const s = this.socket;
    this.socket = null;
    s?.destroy();
  }

  send() {
    if (!this.socket || this.socket.destroyed) this.open();
    this.state = HEAD;
    this.head = null;
    this.line = "";
    this.remaining = 0;
    this.status = 0;
    this.closeAfter = false;
    this.ttfb = -1;
    this.ttft = this.run.stream ? -1 : 0;
    this.seen = "";
    this.bytes = 0;
    this.tail = "";
    this.busy = true;
    this.t0 = performance.now();
    this.socket.write(this.run.request);
  }

  payload(buf, start, end) {
    if (end <= start) return;
    if (this.ttfb < 0) this.ttfb = performance.now() - this.t0;
    if (this.ttft < 0) {
      // Keep a little of the previous read: a token may straddle two.
      this.seen = this.seen.slice(-16) + buf.latin1Slice(start, end);
      if (TOKEN.test(this.seen)) this.ttft = performance.now() - this.t0;
    }
    this.bytes += end - start;
    if (this.run.stream) this.tail = (this.tail + buf.latin1Slice(Math.max(start, end - 24), end)).slice(-24);
  }

  onData(buf) {
    if (!this.busy) return;
    let i = 0;
    if (this.state === HEAD) {
      const all = this.head ? Buffer.concat([this.head, buf]) : buf;
      const at = all.indexOf(CRLF2);
      if (at === -1) {
        this.head = all;
        return;
      }
      const head = all.latin1Slice(0, at).toLowerCase();
      this.status = Number(head.slice(9, 12));
      const cl = /\r\ncontent-length:\s*(\d+)/.exec(head);
      this.closeAfter = /\r\nconnection:\s*close/.test(head);
      if (/\r\ntransfer-encoding:[^\r]*chunked/.test(head)) this.state = CHUNK_SIZE;
      else if (cl) {
        this.state = FIXED;
        this.remaining = Number(cl[1]);
      } else this.state = TO_CLOSE;
      buf = all;
      i = at + 4;
      if (this.state === FIXED && this.remaining === 0) return this.complete(true);
    }
    while (i < buf.length) {
      switch (this.state) {
        case FIXED: {
          const n = Math.min(this.remaining, buf.length - i);
          this.payload(buf, i, i + n);
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) return this.complete(true);
          break;
        }
        case CHUNK_SIZE:
        case TRAILERS: {
          const nl = buf.indexOf(10, i);
          if (nl === -1) {
            this.line += buf.latin1Slice(i, buf.length);
            return;
          }
          const line = (this.line + buf.latin1Slice(i, nl)).trim();
          this.line = "";
          i = nl + 1;
          if (this.state === TRAILERS) {
            if (line === "") return this.complete(true);
          } else {
            this.remaining = parseInt(line, 16);
            if (Number.isNaN(this.remaining)) return this.fail();
            this.state = this.remaining === 0 ? TRAILERS : CHUNK_DATA;
          }
          break;
        }
        case CHUNK_DATA: {
          const n = Math.min(this.remaining, buf.length - i);
          this.payload(buf, i, i + n);
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = CHUNK_END;
          break;
        }
        case CHUNK_END: {
          const nl = buf.indexOf(10, i);
          if (nl === -1) return;
          i = nl + 1;
          this.state = CHUNK_SIZE;
          break;
        }
        case TO_CLOSE:
          this.payload(buf, i, buf.length);
          return;
      }
    }
  }

  onClose() {
    this.socket = null;
    if (!this.busy) return;
    if (this.state === TO_CLOSE) this.complete(true);
    else this.fail();
  }

  fail() {
    this.drop();
    this.complete(false);
  }

  complete(ok) {
    const elapsed = performance.now() - this.t0;
    this.busy = false;
    if (this.closeAfter) this.drop();
    const good = ok && this.status >= 200 && this.status < 300 && (!this.run.stream || this.tail.trimEnd().endsWith(DONE_TAIL));
    this.run.done(this, good, elapsed, this.ttfb, this.ttft, this.bytes);
  }
}

/**
 * Loads `url` with `concurrency` connections for `durationMs` (or until `requests` have completed).
 * Only requests that end within the duration count in the figures; `answered` counts every good response,
 * those that ended after it too. `stream`: the response is an OpenAI SSE stream; it counts as good only if
 * it ends with `data: [DONE]` (ran to its end), and its time to first token is measured. `timeoutMs`: a hard
 * stop; requests still running then are dropped and count as failed (`timedOut` is set).
 */
export function load({ url, body, headers = {}, concurrency = 1, durationMs = 0, requests = 0, stream = false, timeoutMs = 0 }) {
  return new Promise((resolve) => {
    const latency = [];
    const ttfb = [];
    const ttft = [];
    let good = 0;
    let bad = 0;
    let bytes = 0;
    let answered = 0;
    let live = concurrency;
    let started = 0;
    const conns = [];
    const t0 = performance.now();
    const deadline = durationMs > 0 ? t0 + durationMs : Infinity;
    let timedOut = false;
    const hardStop =
      timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            for (const c of conns) if (c.busy) c.fail();
          }, timeoutMs)
        : null;
    const finish = () => {
      clearTimeout(hardStop);
      const wall = Math.min(performance.now(), deadline) - t0;
      for (const c of conns) c.drop();
      resolve({
        good,
        bad,
        answered,
        timedOut,
        bytes,
        wallMs: wall,
        rps: (good * 1000) / wall,
        latency: summary(latency),
        ttfb: summary(ttfb),
        ttft: summary(ttft),
        samples: { latency, ttfb, ttft },
      });
    };
    const run = {
      u: new URL(url),
      request: requestBytes(url, body, headers),
      stream,
      done(conn, ok, ms, firstByteMs, firstTokenMs, n) {
        const now = performance.now();
        if (ok) answered++;
        if (now <= deadline) {
          if (ok) {
            good++;
            bytes += n;
            latency.push(ms);
            if (firstByteMs >= 0) ttfb.push(firstByteMs);
            if (stream && firstTokenMs >= 0) ttft.push(firstTokenMs);
          } else bad++;
        }
        // A burst of failures means the target is down: stop rather than spin.
        const giveUp = bad > 1000 && bad > good;
        if (now < deadline && (requests === 0 || started < requests) && !giveUp && !timedOut) {
          started++;
          // Failed connections reconnect on the next send.
          conn.send();
        } else if (--live === 0) finish();
      },
    };
    for (let i = 0; i < concurrency; i++) {
      const c = new Connection(run);
      conns.push(c);
      if (requests === 0 || started < requests) {
        started++;
        c.send();
      } else live--;
    }
    if (live === 0) finish();
  });
}

/** p50, p99, mean and max of a list of milliseconds. */
export function summary(values) {
  if (values.length === 0) return { n: 0, p50: null, p99: null, mean: null, max: null };
  const sorted = Float64Array.from(values).sort();
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  let sum = 0;
  for (const v of sorted) sum += v;
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), mean: sum / sorted.length, max: sorted[sorted.length - 1] };
}
