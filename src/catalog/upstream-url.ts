/**
 * Where a custom provider may point. A config push names a base URL the Worker then sends a provider key to,
 * and whose answers it relays: plain http only to this machine (a local model server or a test double), never
 * to link-local addresses or a cloud's metadata service, however the address is spelled (the URL parser
 * normalises decimal and hex IPv4, and IPv6, before these checks). A DNS name that resolves to such an address
 * is not caught here; Cloudflare's fetch does not reach link-local or metadata addresses of its own network.
 */

const METADATA_HOSTS = new Set(["metadata.google.internal", "metadata", "169.254.169.254", "100.100.100.200"]);

function ipv4(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return m ? m.slice(1).map(Number) : null;
}

/** The eight 16-bit groups of a bracketed IPv6 host as the URL parser writes it, else null. */
function ipv6(host: string): number[] | null {
  if (!host.startsWith("[") || !host.endsWith("]")) return null;
  let text = host.slice(1, -1);
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = ipv4(v4[1]!)!;
    text = `${text.slice(0, v4.index)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const parse = (s: string | undefined) => (s ? s.split(":").map((g) => Number.parseInt(g, 16)) : []);
  const a = parse(head);
  const b = parse(tail);
  const groups = tail === undefined ? a : [...a, ...Array(8 - a.length - b.length).fill(0), ...b];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  const v4 = ipv4(host);
  if (v4) return v4[0] === 127;
  const v6 = ipv6(host);
  return v6 !== null && v6.slice(0, 7).every((g) => g === 0) && v6[7] === 1;
}

function internalProblem(host: string): string | null {
  if (METADATA_HOSTS.has(host)) return `${host} is a cloud metadata address`;
  let v4 = ipv4(host);
  const v6 = ipv6(host);
  if (v6) {
    if (v6.join(":") === [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254].join(":")) return `${host} is a cloud metadata address`;
    if ((v6[0]! & 0xffc0) === 0xfe80) return `${host} is a link-local address`;
    // IPv4-mapped (::ffff:a.b.c.d): judged as the IPv4 address it carries.
    if (v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff) v4 = [v6[6]! >> 8, v6[6]! & 0xff, v6[7]! >> 8, v6[7]! & 0xff];
  }
  if (v4) {
    const dotted = v4.join(".");
    if (METADATA_HOSTS.has(dotted)) return `${host} is a cloud metadata address`;
    if (v4[0] === 169 && v4[1] === 254) return `${host} is a link-local address`;
  }
  return null;
}

/** Why a custom provider may not use this base URL, or null when it may. */
export function upstreamUrlProblem(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "not a URL";
  }
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  const internal = internalProblem(host);
  if (internal) return `${internal}: a provider may not point there`;
  if (url.protocol === "https:") return null;
  if (url.protocol === "http:" && isLoopback(host)) return null;
  return `use https (plain http only to loopback: 127.0.0.0/8, ::1, localhost)`;
}
