/**
 * The `listen` text of a socket (processes.yaml's `sockets:`): parsed and written back, pure.
 * Used by the config's validation and by listen-socket.ts, which opens what it names.
 */
import { isIP } from "node:net";
import { ipv6Words, splitHostPort } from "./address.js";
import { PlatformError } from "./errors.js";
import { encodeUnixAddress } from "./libc.js";

/** An IP address and port to listen on. */
export interface InetListenAddress {
  readonly kind: "inet";
  readonly family: 4 | 6;
  /** The address bound, without brackets: "127.0.0.1", "::1", "fe80::1%eth0", "::", "0.0.0.0". */
  readonly host: string;
  /** 1 to 65535. */
  readonly port: number;
  /**
   * `:port`: every address of the host, IPv6 and IPv4 on one socket (`::` with IPV6_V6ONLY
   * off), or `0.0.0.0` when the host has no IPv6. False for an address written out, `[::]:port`
   * included (IPv6 only, IPV6_V6ONLY on, as nginx's `listen [::]:80`).
   */
  readonly allAddresses: boolean;
}

/** A unix socket: an absolute path, or `@name` in the abstract namespace. */
export interface UnixListenAddress {
  readonly kind: "unix";
  readonly path: string;
}

export type ListenAddress = InetListenAddress | UnixListenAddress;

const expected = "expected host:port, [ipv6]:port, :port or an absolute unix socket path";

function addressError(text: string, why: string): PlatformError {
  return new PlatformError("socket-address", `listen address ${JSON.stringify(text)}: ${why}`);
}

/**
 * Parses a socket's `listen` text (pure: nothing is resolved or opened). Host names are refused:
 * a socket binds an address, and a name's addresses change under it.
 */
export function parseListenAddress(text: string): ListenAddress {
  if (text.startsWith("/") || text.startsWith("@")) {
    // Length, NUL bytes: the checks of the encoding itself.
    encodeUnixAddress(text, "listen address");
    return { kind: "unix", path: text };
  }
  const all = /^:(\d+)$/.exec(text);
  if (all !== null) {
    return {
      kind: "inet",
      family: 6,
      host: "::",
      port: parsePort(text, all[1] as string),
      allAddresses: true,
    };
  }
  const hostPort = splitHostPort(text);
  if (hostPort === undefined) throw addressError(text, diagnose(text));
  const { host } = hostPort;
  const port = parsePort(text, String(hostPort.port));
  const family = isIP(host);
  if (family === 4) return { kind: "inet", family: 4, host, port, allAddresses: false };
  if (family === 6) {
    const words = ipv6Words(host) ?? [];
    if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
      throw addressError(
        text,
        `an IPv4-mapped IPv6 address: write the IPv4 address as it is (${host.replace(/^.*:/, "")}:${port})`,
      );
    }
    return { kind: "inet", family: 6, host, port, allAddresses: false };
  }
  throw addressError(
    text,
    `${JSON.stringify(host)} is not an IP address: a socket binds an address, not a name (127.0.0.1:${port}, [::1]:${port}, or :${port} for every address)`,
  );
}

function parsePort(text: string, digits: string): number {
  const port = Number(digits);
  if (port < 1 || port > 65535) {
    throw addressError(text, `port ${digits}: expected 1 to 65535`);
  }
  return port;
}

/** Why `text` is not host:port, as precisely as can be said. */
function diagnose(text: string): string {
  if (/^\d+$/.test(text)) return `${expected} (for port ${text} on every address: :${text})`;
  if (isIP(text) === 6 || /^[^[]*:.*:\d+$/.test(text)) {
    return `${expected} (an IPv6 address goes in brackets: [::1]:8080)`;
  }
  const port = /:(\d+)$/.exec(text)?.[1];
  if (port !== undefined && Number(port) > 65535) return `port ${port}: expected 1 to 65535`;
  if (!text.includes(":")) return `${expected} (a unix socket path starts with /)`;
  return expected;
}

/** "127.0.0.1:8080", "[::1]:8080", ":8080", "/run/app.sock": as `listen` is written. */
export function formatListenAddress(address: ListenAddress): string {
  if (address.kind === "unix") return address.path;
  if (address.allAddresses) return `:${address.port}`;
  return address.family === 6
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}
