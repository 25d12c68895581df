// A minimal DevTools protocol client for a Worker served by Miniflare with `inspectorPort`: the profiler
// (bench/profile.mjs) and the live-heap probe of the long-stream memory check (bench/run.mjs).
import WebSocket from "ws";

/** Connects to the Worker whose inspector title or id matches `name`; returns { send, close }. */
export async function devtools(inspectorPort, name) {
  const list = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`, { signal: AbortSignal.timeout(10_000) })).json();
  const entry = list.find((t) => new RegExp(name).test(`${t.title} ${t.id}`)) ?? list[0];
  const ws = new WebSocket(entry.webSocketDebuggerUrl);
  let id = 0;
  const waiting = new Map();
  ws.on("close", () => {
    for (const w of waiting.values()) w.reject(new Error("DevTools connection closed"));
    waiting.clear();
  });
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data));
    const w = msg.id !== undefined && waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.error) w.reject(new Error(msg.error.message));
    else w.resolve(msg.result);
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error("DevTools: the inspector did not accept a connection within 10 s"));
    }, 10_000);
    ws.once("error", (err) => (clearTimeout(timer), reject(err)));
    ws.once("open", () => (clearTimeout(timer), resolve()));
  });
  return {
    // A call the isolate does not answer within `timeoutMs` fails rather than hangs the caller.
    send: (method, params = {}, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const n = ++id;
        const timer = setTimeout(() => {
          waiting.delete(n);
          reject(new Error(`DevTools ${method}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        const settle = (fn) => (v) => {
          clearTimeout(timer);
          fn(v);
        };
        waiting.set(n, { resolve: settle(resolve), reject: settle(reject) });
        ws.send(JSON.stringify({ id: n, method, params }));
      }),
    close: () => ws.close(),
  };
}

/**
 * Live JavaScript memory of the isolate in MiB after a full garbage collection: heap plus ArrayBuffers.
 * workerd answers the inspector only while the isolate has work: an idle Worker leaves the call unanswered.
 * So while waiting, `pokeUrl` (any cheap route of the Worker) is requested every 100 ms.
 */
export async function liveHeapMiB(dt, pokeUrl) {
  const poke = pokeUrl ? setInterval(() => fetch(pokeUrl).then((r) => r.arrayBuffer()).catch(() => {}), 100) : null;
  try {
    await dt.send("HeapProfiler.collectGarbage");
    const h = await dt.send("Runtime.getHeapUsage");
    return (h.usedSize + (h.backingStorageSize ?? 0)) / 1048576;
  } finally {
    clearInterval(poke);
  }
}
