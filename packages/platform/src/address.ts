/** Network addresses: `host:port` splitting and loopback checks. */
import { isIP } from "node:net";

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Splits "host:port" / "[v6]:port"; `undefined` when malformed (or the port is out of range). */
export function splitHostPort(address: string): HostPort | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:[\]]+):(\d+)$/.exec(address);
  if (m === null) return undefined;
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  const host = m[1] as string;
  if (host.includes(":") && isIP(host) !== 6) return undefined;
  return { host, port };
}

/** The eight 16-bit words of an IPv6 address (zone id dropped); `undefined` when not one. */
export function ipv6Words(address: string): number[] | undefined {
  const host = address.replace(/%.*$/, "");
  if (isIP(host) !== 6) return undefined;
  let text = host;
  const tail: number[] = [];
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4 !== null) {
    const [a = 0, b = 0, c = 0, d = 0] = v4.slice(1).map(Number);
    tail.push((a << 8) | b, (c << 8) | d);
    // "::ffff:" -> "::ffff", "::" stays
    text = text.slice(0, v4.index);
    if (!text.endsWith("::")) text = text.slice(0, -1);
  }
  const parse = (s: string) => (s === "" ? [] : s.split(":").map((w) => Number.parseInt(w, 16)));
  const [head = "", rest] = text.split("::");
  const left = parse(head);
  if (rest === undefined) return [...left, ...tail];
  const right = [...parse(rest), ...tail];
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * Loopback: `localhost`, `ip6-localhost`, 127.0.0.0/8, `::1` in any spelling, and IPv4-mapped
 * 127.0.0.0/8 (`::ffff:127.0.0.1`).
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost" || h === "ip6-localhost") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  const words = ipv6Words(h);
  if (words === undefined) return false;
  const zeros = (n: number) => words.slice(0, n).every((w) => w === 0);
  if (zeros(7) && words[7] === 1) return true;
  return zeros(5) && words[5] === 0xffff && (words[6] ?? 0) >> 8 === 127;
}
