// Process figures from Linux's /proc: CPU time and resident memory of the workerd processes the bench
// starts. Elsewhere these read as null and the report says "n/a".
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
} catch {
  // getconf missing: Linux's USER_HZ is 100 nearly everywhere
}

function stat(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name, which may itself contain spaces.
  const close = text.lastIndexOf(")");
  return { comm: text.slice(text.indexOf("(") + 1, close), fields: text.slice(close + 2).split(" ") };
}

/** Pids of this process's children named `name` (workerd, which Miniflare spawns). */
export function childPids(name) {
  try {
    const out = [];
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const s = stat(entry);
        // fields[1] is the parent pid (field 4 of stat)
        if (s.comm === name && Number(s.fields[1]) === process.pid) out.push(Number(entry));
      } catch {
        // the process ended while we looked
      }
    }
    return out;
  } catch {
    return [];
  }
}

/** CPU time (user + system, all threads) in ms, or null. */
export function cpuMs(pid) {
  if (!pid) return null;
  try {
    const f = stat(pid).fields;
    // utime and stime are fields 14 and 15 of stat, indices 11 and 12 here
    return ((Number(f[11]) + Number(f[12])) * 1000) / ticksPerSecond;
  } catch {
    return null;
  }
}

/** Resident set size in MiB, or null. */
export function rssMiB(pid) {
  if (!pid) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Samples `read()` every `everyMs` until stopped; returns the samples. */
export function sampler(read, everyMs) {
  const samples = [];
  const take = () => {
    const v = read();
    if (v !== null) samples.push(v);
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

/** Resolves once something accepts connections on 127.0.0.1:`port`; rejects, naming `who`, after `untilMs`. */
export function accepting(port, untilMs, who, everyMs = 50) {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.once("connect", () => (s.destroy(), resolve()));
      s.once("error", () => {
        s.destroy();
        if (Date.now() > untilMs) reject(new Error(`${who} did not listen on :${port}`));
        else setTimeout(attempt, everyMs);
      });
    };
    attempt();
  });
}
