import { chmod, lstat, unlink } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer as createHttpServer } from "node:http";
import type {
  Http2Server,
  Http2ServerRequest,
  Http2ServerResponse,
  Http2Session,
} from "node:http2";
import { createRequire } from "node:module";
import {
  type AddressInfo,
  createConnection,
  createServer,
  type Server,
  type Socket,
} from "node:net";
import type { SecureContextOptions } from "node:tls";
import { ConnectionGate, maxConcurrentStreams } from "./connection-gate.js";
import { DaemonError } from "./errors.js";

export type RequestHandler = (
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
) => void;

const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** A listening endpoint that speaks HTTP/2 prior knowledge (gRPC) and HTTP/1.1 on one socket. */
export interface Listener {
  /** `unix:/path` or `host:port` (the real port when 0 was asked). */
  readonly address: string;
  readonly port?: number;
  /**
   * Stops accepting connections, lets the calls in flight finish for up to `graceMs` (default
   * 1 s: what a stream ended by the shutdown signal takes to send its last message and its
   * status, such as a health Watch's NOT_SERVING), then drops every connection.
   */
  close(graceMs?: number): Promise<void>;
}

const defaultGraceMs = 1000;

/**
 * Peeks the first bytes of each connection: the HTTP/2 connection preface goes to an http2
 * server (gRPC, Connect and gRPC-Web over h2c), anything else to an HTTP/1.1 server (Connect and
 * gRPC-Web with curl). The peeked bytes are pushed back before the hand-over.
 *
 * The http2 server is made at the first HTTP/2 connection: `node:http2` loads 15 of Node's
 * modules (tls and assert with it), which a daemon driven by pm-cli (HTTP/1.1) never needs.
 */
function createDualServer(
  handler: RequestHandler,
  gate: ConnectionGate,
): {
  server: Server;
  destroyAll(): void;
  /** Resolves when no call is in flight, or after `ms`. */
  idle(ms: number): Promise<void>;
} {
  const calls = trackCalls(handler);
  handler = calls.handler;
  const h1 = createHttpServer(handler as (req: IncomingMessage, res: ServerResponse) => void);
  const sessions = new Set<Http2Session>();
  const sockets = new Set<Socket>();
  let h2: Http2Server | undefined;
  const http2Server = (): Http2Server => {
    if (h2 !== undefined) return h2;
    const http2 = createRequire(import.meta.url)("node:http2") as typeof import("node:http2");
    h2 = http2.createServer(
      { settings: { maxConcurrentStreams } },
      handler as (req: Http2ServerRequest, res: Http2ServerResponse) => void,
    );
    h2.on("session", (s: Http2Session) => {
      sessions.add(s);
      s.once("close", () => sessions.delete(s));
    });
    return h2;
  };
  const server = createServer((socket) => {
    if (!gate.admit(socket)) return;
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    // A connection that sends nothing is dropped after 30 s.
    const onIdle = (): void => {
      socket.destroy();
    };
    let seen = Buffer.alloc(0);
    const onReadable = (): void => {
      for (;;) {
        const chunk = socket.read() as Buffer | null;
        if (chunk === null) break;
        seen = Buffer.concat([seen, chunk]);
      }
      const n = Math.min(seen.length, preface.length);
      const isPrefix = seen.subarray(0, n).equals(preface.subarray(0, n));
      if (isPrefix && seen.length < preface.length) return; // need more bytes
      socket.off("readable", onReadable);
      socket.off("timeout", onIdle);
      socket.setTimeout(0);
      socket.unshift(seen);
      if (isPrefix) http2Server().emit("connection", socket);
      else h1.emit("connection", socket);
    };
    socket.setTimeout(30_000, onIdle);
    socket.on("readable", onReadable);
  });
  return {
    server,
    destroyAll() {
      for (const s of sessions) s.destroy();
      h1.closeAllConnections();
      for (const s of sockets) s.destroy();
    },
    idle: calls.idle,
  };
}

/** Counts the calls in flight (a response not yet closed) of `handler`. */
function trackCalls(handler: RequestHandler): {
  handler: RequestHandler;
  idle(ms: number): Promise<void>;
} {
  let open = 0;
  const waiters = new Set<() => void>();
  return {
    handler(req, res) {
      open += 1;
      res.once("close", () => {
        open -= 1;
        if (open === 0) for (const w of waiters) w();
      });
      handler(req, res);
    },
    idle(ms) {
      if (open === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        waiters.add(done);
      });
    },
  };
}

function listen(server: Server, arg: { path: string } | { host: string; port: number }) {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(arg, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** True when something accepts connections on the unix socket. */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ path });
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

/**
 * Listens on a unix socket (mode 0660). A stale socket file is removed only when nothing answers
 * on it; a live daemon on it, or a path that is not a socket, is an error.
 */
export async function listenUnix(
  path: string,
  handler: RequestHandler,
  onLimit: (message: string) => void = () => {},
): Promise<Listener> {
  try {
    const st = await lstat(path);
    if (!st.isSocket()) {
      throw new DaemonError("socket-path", `${path} exists and is not a socket; not removing it`);
    }
    if (await socketAnswers(path)) {
      throw new DaemonError(
        "socket-in-use",
        `another dd-procmgrd is already listening on ${path}; stop it first (or use --socket)`,
      );
    }
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const gate = new ConnectionGate(() => `unix:${path}`, onLimit);
  const { server, destroyAll, idle } = createDualServer(handler, gate);
  const oldMask = process.umask(0o117);
  try {
    await listen(server, { path });
  } catch (e) {
    throw new DaemonError("listen", `cannot listen on ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  } finally {
    process.umask(oldMask);
  }
  await chmod(path, 0o660);
  return {
    address: `unix:${path}`,
    async close(graceMs = defaultGraceMs) {
      const closed = closeServer(server);
      await idle(graceMs);
      destroyAll();
      await closed;
      await unlink(path).catch(() => {});
    },
  };
}

/** Listens on host:port (port 0 = any free port); the real port. */
async function listenInet(server: Server, host: string, port: number): Promise<number> {
  try {
    await listen(server, { host, port });
  } catch (e) {
    throw new DaemonError("listen", `cannot listen on ${host}:${port}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return (server.address() as AddressInfo).port;
}

function hostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** Listens on host:port (port 0 = any free port). */
export async function listenTcp(
  host: string,
  port: number,
  handler: RequestHandler,
  onLimit: (message: string) => void = () => {},
): Promise<Listener> {
  let real = port;
  const gate = new ConnectionGate(() => hostPort(host, real), onLimit);
  const { server, destroyAll, idle } = createDualServer(handler, gate);
  real = await listenInet(server, host, port);
  return {
    address: hostPort(host, real),
    port: real,
    async close(graceMs = defaultGraceMs) {
      const closed = closeServer(server);
      await idle(graceMs);
      destroyAll();
      await closed;
    },
  };
}

/** A TLS listener, whose certificate can be replaced while it runs. */
export interface TlsListener extends Listener {
  /** Certificate, key and client CAs of the handshakes from now on (open connections keep theirs). */
  setSecureContext(context: SecureContextOptions): void;
}

export interface TlsListenOptions {
  readonly context: SecureContextOptions;
  /** Mutual TLS: refuse a client without a certificate signed by `context.ca`. */
  readonly requireClientCert: boolean;
  /** A handshake that failed (a client refused, a cleartext request, a timeout). */
  readonly onClientError: (error: Error, remoteAddress: string) => void;
  /** The listener refuses connections (connection-gate.ts). */
  readonly onLimit?: (message: string) => void;
}

/**
 * Listens on host:port with TLS. ALPN picks the protocol: `h2` (gRPC, Connect, gRPC-Web) or
 * `http/1.1` (Connect and gRPC-Web, as pm-cli and curl send them). Its address is
 * `https://host:port`, as clients write it.
 */
export async function listenTls(
  host: string,
  port: number,
  handler: RequestHandler,
  options: TlsListenOptions,
): Promise<TlsListener> {
  const calls = trackCalls(handler);
  handler = calls.handler;
  const http2 = createRequire(import.meta.url)("node:http2") as typeof import("node:http2");
  const server = http2.createSecureServer(
    {
      ...options.context,
      allowHTTP1: true,
      handshakeTimeout: 30_000,
      settings: { maxConcurrentStreams },
      ...(options.requireClientCert ? { requestCert: true, rejectUnauthorized: true } : {}),
    },
    handler as (req: Http2ServerRequest, res: Http2ServerResponse) => void,
  );
  const sockets = new Set<Socket>();
  const sessions = new Set<Http2Session>();
  let real = port;
  const gate = new ConnectionGate(
    () => `https://${hostPort(host, real)}`,
    options.onLimit ?? (() => {}),
  );
  server.on("connection", (socket: Socket) => gate.admit(socket));
  server.on("secureConnection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.on("session", (session: Http2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  server.on("tlsClientError", (e: Error, socket: Socket) => {
    options.onClientError(e, socket.remoteAddress ?? "?");
  });
  real = await listenInet(server, host, port);
  return {
    address: `https://${hostPort(host, real)}`,
    port: real,
    setSecureContext: (context) => server.setSecureContext(context),
    async close(graceMs = defaultGraceMs) {
      const closed = closeServer(server);
      await calls.idle(graceMs);
      for (const s of sessions) s.destroy();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
