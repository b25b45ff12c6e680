import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import {
  type Client,
  Code,
  ConnectError,
  createClient,
  type Interceptor,
} from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { systemRuntimeDir, userRuntimeDir } from "@procmgr/platform";
import { ProcessManager } from "./gen/procmgr/v1/process_manager_pb.js";
import { readTokenFile, tokenFileName } from "./token-file.js";

/** Where a dd-procmgrd listens: its unix socket or a TCP host and port (`tls`: https://). */
export type DaemonAddress =
  | { kind: "unix"; path: string }
  | { kind: "tcp"; host: string; port: number; tls?: boolean };

export type ProcessManagerClient = Client<typeof ProcessManager>;

export interface ProcessManagerConnection {
  readonly client: ProcessManagerClient;
  readonly address: DaemonAddress;
  /** Ends the calls in flight (they fail with CANCELED) and the connections kept open. */
  close(): void;
}

export type RpcClientErrorCode = "invalid-address" | "invalid-option";

/** The error of the client factory: a bad address or option, named with what was received. */
export class RpcClientError extends Error {
  override readonly name = "RpcClientError";
  readonly code: RpcClientErrorCode;

  constructor(code: RpcClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  static from(e: unknown): RpcClientError {
    if (e instanceof RpcClientError) return e;
    const message = e instanceof Error ? e.message : String(e);
    return new RpcClientError("invalid-option", message, { cause: e });
  }
}

/** The default TCP address of the daemon. */
export const defaultTcpAddress: DaemonAddress = { kind: "tcp", host: "127.0.0.1", port: 50051 };
export const socketFileName = "dd-procmgrd.sock";

/**
 * Parses "unix:/path", "unix:///path", "/abs/path.sock", "host:port", "[::1]:port",
 * "http://host:port" and "https://host:port" (TLS). Throws RpcClientError("invalid-address")
 * naming the value received.
 */
export function parseAddress(s: string): DaemonAddress {
  const input = s.trim();
  const invalid = (why: string) =>
    new RpcClientError(
      "invalid-address",
      `invalid daemon address ${JSON.stringify(s)}: ${why} (expected unix:/path/to.sock, /path/to.sock, host:port or https://host:port)`,
    );
  if (input === "") throw invalid("empty");
  if (input.startsWith("unix:")) {
    let path = input.slice("unix:".length);
    if (path.startsWith("//")) path = path.slice(2);
    if (!path.startsWith("/")) throw invalid("the socket path must be absolute");
    return { kind: "unix", path };
  }
  if (input.startsWith("/")) return { kind: "unix", path: input };
  let rest = input;
  const scheme = /^(https?):\/\//.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length).replace(/\/+$/, "");
  let host: string;
  let portText: string;
  if (rest.startsWith("[")) {
    const end = rest.indexOf("]");
    if (end < 0 || rest[end + 1] !== ":") throw invalid("expected [ipv6]:port");
    host = rest.slice(1, end);
    portText = rest.slice(end + 2);
  } else {
    const colon = rest.lastIndexOf(":");
    if (colon < 0) throw invalid("missing port");
    host = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
    if (host.includes(":")) throw invalid("an IPv6 host must be written in brackets");
  }
  if (host === "") throw invalid("missing host");
  if (!/^\d+$/.test(portText)) throw invalid(`port ${JSON.stringify(portText)} is not a number`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw invalid(`port ${port} is out of range 1-65535`);
  return scheme?.[1] === "https"
    ? { kind: "tcp", host, port, tls: true }
    : { kind: "tcp", host, port };
}

/** Renders an address the way parseAddress reads it back. */
export function formatAddress(address: DaemonAddress): string {
  if (address.kind === "unix") return `unix:${address.path}`;
  const hostPort = address.host.includes(":")
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
  return address.tls === true ? `https://${hostPort}` : hostPort;
}

/** PEM contents (not paths) for a TLS connection; `cert` and `key` go together (mutual TLS). */
export interface TlsClientOptions {
  /** The CAs to trust instead of the system's (`--cacert`). */
  ca?: string | Buffer | undefined;
  /** A client certificate and its key, for a daemon that asks for one (`--tls-client-ca`). */
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
}

export interface ProcessManagerClientOptions {
  /** Sent as `authorization: Bearer <token>` on every call. */
  token?: string | undefined;
  /** Default deadline of unary calls (streams are not limited). */
  timeoutMs?: number | undefined;
  /** TLS settings; only for an https:// address. */
  tls?: TlsClientOptions | undefined;
}

/** Every call carries the token. */
function bearer(token: string): Interceptor {
  const value = `Bearer ${token}`;
  return (next) => async (req) => {
    req.header.set("authorization", value);
    return await next(req);
  };
}

/** Every call ends when `signal` does (connect reports an aborted call as CANCELED). */
function endedBy(signal: AbortSignal): Interceptor {
  return (next) => (req) => next({ ...req, signal: AbortSignal.any([req.signal, signal]) });
}

/**
 * A socket error as the call's code. connect-node names a refused connection or an unresolvable
 * host UNAVAILABLE, but what only a unix socket gives (no socket file: ENOENT, not a socket:
 * ENOTSOCK, not allowed: EACCES) is INTERNAL, and a connection the daemon drops mid-call is
 * ABORTED (the code its server side uses for a client that hung up). The CLI tells "no daemon
 * there" (exit 3) and "not allowed" (exit 4) apart by these codes, so the client names them.
 */
const socketErrors: Interceptor = (next) => async (req) => {
  try {
    const res = await next(req);
    return res.stream ? { ...res, message: mapStreamErrors(res.message) } : res;
  } catch (e) {
    throw fromSocketError(e);
  }
};

async function* mapStreamErrors<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (e) {
    throw fromSocketError(e);
  }
}

function fromSocketError(e: unknown): ConnectError {
  const ce = ConnectError.from(e);
  if (ce.code !== Code.Internal && ce.code !== Code.Aborted) return ce;
  const errno = errnoOf(ce);
  const code =
    errno === "EACCES" || errno === "EPERM"
      ? Code.PermissionDenied
      : errno === "ENOENT" || errno === "ENOTSOCK" || errno === "ECONNRESET" || errno === "EPIPE"
        ? Code.Unavailable
        : undefined;
  return code === undefined ? ce : new ConnectError(ce.rawMessage, code, ce.metadata, [], ce);
}

/** The errno name (`ENOENT`) somewhere along an error's causes. */
function errnoOf(e: unknown): string | undefined {
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 8; depth++) {
    const code = (c as NodeJS.ErrnoException).code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return code;
    c = c.cause;
  }
  return undefined;
}

/**
 * The keep-alive agent of a connection: https (trusting `tls.ca`, presenting `tls.cert`) for an
 * https:// address, plain http otherwise. TLS options for another address are a mistake.
 */
function connectionAgent(
  address: DaemonAddress,
  tls: TlsClientOptions | undefined,
): http.Agent | https.Agent {
  if (address.kind === "tcp" && address.tls === true) {
    if ((tls?.cert === undefined) !== (tls?.key === undefined)) {
      throw new RpcClientError(
        "invalid-option",
        "a TLS client certificate needs its key (tls.cert and tls.key go together)",
      );
    }
    return new https.Agent({
      keepAlive: true,
      ...(tls?.ca !== undefined ? { ca: tls.ca } : {}),
      ...(tls?.cert !== undefined && tls.key !== undefined ? { cert: tls.cert, key: tls.key } : {}),
    });
  }
  if (tls !== undefined) {
    throw new RpcClientError(
      "invalid-option",
      `TLS options need an https:// address (received ${formatAddress(address)})`,
    );
  }
  return new http.Agent({ keepAlive: true });
}

/**
 * A client of the daemon (unix socket, host:port or https://host:port) together with a way to end
 * its calls: connect-node's Connect transport, binary protobuf over HTTP/1.1 (node:http, or
 * node:https with `options.tls` for an https:// address), which the daemon
 * serves beside gRPC on the same socket. HTTP/1.1 because a short-lived CLI makes one or two
 * calls: it needs no HTTP/2 session and its SETTINGS round trip. Connections are kept alive
 * between the calls of one connection object and closed by `close()`; an idle one never keeps a
 * process alive (Node's agent unrefs the sockets it keeps).
 */
export function createProcessManagerConnection(
  address: DaemonAddress | string,
  options: ProcessManagerClientOptions = {},
): ProcessManagerConnection {
  const resolved = typeof address === "string" ? parseAddress(address) : address;
  if (
    options.timeoutMs !== undefined &&
    (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0)
  ) {
    throw new RpcClientError(
      "invalid-option",
      `invalid timeoutMs ${String(options.timeoutMs)}: expected a positive number of milliseconds`,
    );
  }
  const agent = connectionAgent(resolved, options.tls);
  const closing = new AbortController();
  const interceptors = [endedBy(closing.signal), socketErrors];
  if (options.token !== undefined && options.token !== "") interceptors.push(bearer(options.token));
  const transport = createConnectTransport({
    httpVersion: "1.1",
    baseUrl:
      resolved.kind === "unix"
        ? "http://localhost"
        : resolved.tls === true
          ? formatAddress(resolved)
          : `http://${formatAddress(resolved)}`,
    nodeOptions: resolved.kind === "unix" ? { agent, socketPath: resolved.path } : { agent },
    useBinaryFormat: true,
    interceptors,
    // No compression: the daemon is local (unix socket or loopback).
    acceptCompression: [],
    ...(options.timeoutMs !== undefined ? { defaultTimeoutMs: options.timeoutMs } : {}),
  });
  return {
    client: createClient(ProcessManager, transport),
    address: resolved,
    close() {
      closing.abort();
      agent.destroy();
    },
  };
}

/**
 * A client of the daemon: unix socket or host:port. A connection is open only while a call is,
 * so an idle client does not keep the process alive; use createProcessManagerConnection to end
 * calls in flight.
 */
export function createProcessManagerClient(
  address: DaemonAddress | string,
  options: ProcessManagerClientOptions = {},
): ProcessManagerClient {
  return createProcessManagerConnection(address, options).client;
}

export interface DiscoveredDaemon {
  address: DaemonAddress;
  token?: string;
  /** Every place looked at, in order ("unix:/run/dd-procmgrd/dd-procmgrd.sock", ...). */
  searched: string[];
  /** The token file read, if any. */
  tokenPath?: string;
}

/** Runtime directories where the daemon of this user (then the system daemon) keeps its files. */
export function runtimeDirCandidates(env: NodeJS.ProcessEnv, uid: number): string[] {
  const dirs: string[] = [];
  const add = (d: string | undefined) => {
    if (d !== undefined && d !== "" && !dirs.includes(d)) dirs.push(d);
  };
  add(env.PM_RUNTIME_DIR);
  if (uid !== 0) add(userRuntimeDir(env, uid));
  add(systemRuntimeDir);
  return dirs;
}

function canConnect(path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ path });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on("error", () => {});
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * Finds the daemon the CLI should talk to:
 * `PM_ADDRESS` when set; otherwise the first connectable socket among `PM_SOCKET_PATH`, the
 * user's runtime dir (`$XDG_RUNTIME_DIR`, non-root) and `/run/dd-procmgrd`; otherwise
 * `127.0.0.1:50051`. For TCP the token is read from `PM_TOKEN_PATH`, else the first readable
 * `dd-procmgrd.token` of those runtime dirs.
 */
export async function discoverDaemon(
  env: NodeJS.ProcessEnv,
  uid: number,
): Promise<DiscoveredDaemon> {
  const dirs = runtimeDirCandidates(env, uid);
  const searched: string[] = [];
  let address: DaemonAddress | undefined;
  if (env.PM_ADDRESS !== undefined && env.PM_ADDRESS.trim() !== "") {
    address = parseAddress(env.PM_ADDRESS);
    searched.push(formatAddress(address));
  } else {
    const sockets: string[] = [];
    if (env.PM_SOCKET_PATH) sockets.push(env.PM_SOCKET_PATH);
    for (const dir of dirs) {
      const p = `${dir}/${socketFileName}`;
      if (!sockets.includes(p)) sockets.push(p);
    }
    for (const path of sockets) {
      searched.push(`unix:${path}`);
      if (await canConnect(path, 1000)) {
        address = { kind: "unix", path };
        break;
      }
    }
    if (address === undefined) {
      address = defaultTcpAddress;
      searched.push(formatAddress(address));
    }
  }
  const result: DiscoveredDaemon = { address, searched };
  if (address.kind === "tcp") {
    const tokenPaths = env.PM_TOKEN_PATH
      ? [env.PM_TOKEN_PATH]
      : dirs.map((d) => `${d}/${tokenFileName}`);
    for (const p of tokenPaths) {
      const token = await readTokenFile(p);
      if (token !== undefined) {
        result.token = token;
        result.tokenPath = p;
        break;
      }
    }
  }
  return result;
}
