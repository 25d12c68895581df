// A minimal DevTools protocol client for a Worker served by Miniflare with `inspectorPort`: the profiler
// (bench/profile.mjs) and the live-heap probe of the long-stream memory check (bench/run.mjs).
import WebSocket from "ws";

/** Connects to the Worker whose inspector title or id matches `name`; returns { send, close }. */
export async function devtools(inspectorPort, name) {
  const list = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
  const entry = list.find((t) => new RegExp(name).test(`${t.title} ${t.id}`)) ?? list[0];
  const ws = new WebSocket(entry.webSocketDebuggerUrl);
  let id = 0;
  const waiting = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data));
    const w = msg.id !== undefined && waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.error) w.reject(new Error(msg.error.message));
    else w.resolve(msg.result);
  });
  await new Promise((resolve, reject) => {
    ws.once("error", reject);
    ws.once("open", resolve);
  });
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        waiting.set(++id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** Live JavaScript memory of the isolate in MiB after a full garbage collection: heap plus ArrayBuffers. */
export async function liveHeapMiB(dt) {
  await dt.send("HeapProfiler.collectGarbage");
  const h = await dt.send("Runtime.getHeapUsage");
  return (h.usedSize + (h.backingStorageSize ?? 0)) / 1048576;
}
