/**
 * Listening sockets for socket activation: the daemon opens and holds them, and hands them to the
 * program it supervises as descriptors 3, 4... (`LISTEN_FDS`, as systemd does), again at every
 * restart. Connections that come while no program holds the socket wait in the kernel's backlog
 * and are accepted by the next one: a restart loses none.
 *
 * Why libc over FFI (koffi, see unix-datagram.ts): the daemon must hold the socket WITHOUT
 * accepting on it, and Node's `net.Server` accepts as soon as it listens (and `dgram` reads as
 * soon as it binds). So the socket is made with socket(2), bind(2) and listen(2) here, and only
 * the program ever accepts (or reads) on it.
 *
 * The descriptor is what systemd gives a program: blocking, close-on-exec in the daemon (so
 * that no other child inherits it; Node's `spawn` dup2s it to 3.. in the child, without
 * close-on-exec). The file status flags (O_NONBLOCK, O_ASYNC) and the owner (F_SETOWN) belong
 * to the open file description, which the daemon and the program share: a program that makes
 * the socket non-blocking (Node's `listen({ fd: 3 })` does) makes it so for the daemon and for
 * the next program too, hence {@link ListenSocket.prepareForChild} before each start.
 *
 * Waiting for the first connection (start on connect) without accepting: signal-driven I/O, as
 * the datagram receivers do (the one SIGIO listener of sigio.ts); O_ASYNC is on only while
 * watching, since the program would share it, and poll(2) with a zero timeout tells whether a
 * connection (or a datagram) is waiting, without taking it.
 */
import { chmodSync, chownSync, lstatSync, type Stats } from "node:fs";
import { ipv6Words } from "./address.js";
import { PlatformError } from "./errors.js";
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  bindHint,
  encodeUnixAddress,
  F_GETFL,
  F_SETFL,
  F_SETOWN,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  type Libc,
  loadLibc,
  O_ASYNC,
  O_NONBLOCK,
  POLLIN,
  removeStaleSocket,
  SO_REUSEADDR,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  syscallError,
  unlinkIfSame,
} from "./libc.js";
import {
  type InetListenAddress,
  type ListenAddress,
  parseListenAddress,
} from "./listen-address.js";
import { keepSigioListener, subscribeSigio } from "./sigio.js";

export type ListenSocketType = "stream" | "datagram";

export interface ListenSocketSpec {
  /** "127.0.0.1:8080", "[::1]:8080", ":8080", "/run/app.sock" or "@name". */
  readonly listen: string;
  /** Default "stream" (TCP, unix stream); "datagram" is UDP or a unix datagram socket. */
  readonly type?: ListenSocketType;
  /** listen(2)'s backlog, stream sockets only; default 4096 (the kernel caps it at somaxconn). */
  readonly backlog?: number;
  /** The socket file's mode, unix paths only; default 0o666 (as systemd's SocketMode=). */
  readonly mode?: number;
  /** The socket file's owner, unix paths only; default the daemon's. */
  readonly owner?: { readonly uid: number; readonly gid: number };
}

/** A socket bound (and listening, for a stream) that the daemon holds for a program. */
export interface ListenSocket {
  /** Blocking, close-on-exec: pass it to `spawn` in `stdio` (index 3, 4...). */
  readonly fd: number;
  /** What was bound: `:port` falls back to IPv4 (`family` 4, `0.0.0.0`) without IPv6. */
  readonly address: ListenAddress;
  readonly type: ListenSocketType;
  /**
   * Call right before each start of a program with this socket: ends a watch if there is one
   * (O_ASYNC off, no owner: nothing of the daemon's is left on the shared file description) and
   * makes the socket blocking again, as an earlier program may have left it non-blocking.
   */
  prepareForChild(): void;
  /** Closes the descriptor (a unix socket file is removed when it is still ours); idempotent. */
  close(): void;
}

const defaultBacklog = 4096;
const defaultMode = 0o666;

interface ResolvedSpec {
  readonly address: ListenAddress;
  readonly type: ListenSocketType;
  readonly backlog: number;
  readonly mode: number;
  readonly owner: { readonly uid: number; readonly gid: number } | undefined;
}

function resolveSpec(spec: ListenSocketSpec, what: string): ResolvedSpec {
  const optionError = (field: string, value: unknown, wanted: string) =>
    new PlatformError(
      "invalid-option",
      `${what}: ${field} ${JSON.stringify(value)}: expected ${wanted}`,
    );
  let address: ListenAddress;
  try {
    address = parseListenAddress(spec.listen);
  } catch (e) {
    const error = PlatformError.from(e);
    throw new PlatformError(error.code, `${what}: ${error.message}`, { cause: e });
  }
  const type = spec.type ?? "stream";
  if (type !== "stream" && type !== "datagram") {
    throw optionError("type", type, '"stream" or "datagram"');
  }
  const { backlog, mode, owner } = spec;
  if (backlog !== undefined) {
    if (type !== "stream")
      throw optionError("backlog", backlog, "no backlog for a datagram socket");
    if (!Number.isInteger(backlog) || backlog < 1 || backlog > 0x7fffffff) {
      throw optionError("backlog", backlog, "an integer from 1 (the kernel caps it at somaxconn)");
    }
  }
  const file = address.kind === "unix" && !address.path.startsWith("@");
  if (mode !== undefined) {
    if (!file) throw optionError("mode", mode, "a mode for a unix socket path only");
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
      throw optionError("mode", mode, "a file mode from 0 to 0o7777");
    }
  }
  if (owner !== undefined) {
    if (!file) throw optionError("owner", owner, "an owner for a unix socket path only");
    const id = (n: number) => Number.isInteger(n) && n >= 0 && n < 0xffffffff;
    if (!id(owner.uid) || !id(owner.gid)) {
      throw optionError("owner", owner, "{ uid, gid }, integers from 0");
    }
  }
  return {
    address,
    type,
    backlog: backlog ?? defaultBacklog,
    mode: mode ?? defaultMode,
    owner,
  };
}

/**
 * Opens a socket as `spec` says and holds it: socket(2) close-on-exec, SO_REUSEADDR for TCP (a
 * restarted daemon rebinds at once, TIME_WAIT notwithstanding; not for UDP, where it would let
 * two sockets share a port), IPV6_V6ONLY on for an IPv6 address, off for `:port`, bind(2) and
 * listen(2) for a stream. `:port` on a host without IPv6 (socket(2) fails with EAFNOSUPPORT)
 * binds 0.0.0.0 instead. A unix path: a socket file left there is replaced (any other file is
 * an error), then the file is given `mode` (default 0666) and `owner`.
 *
 * Nothing is accepted or read: connections wait in the backlog for the program. `what` names
 * the socket in errors (`process "web" socket 127.0.0.1:8080`), which say the cause in words.
 */
export async function openListenSocket(
  spec: ListenSocketSpec,
  what: string,
): Promise<ListenSocket> {
  const resolved = resolveSpec(spec, what);
  const libc = await loadLibc();
  const { koffi } = libc;
  const kind = resolved.type === "stream" ? SOCK_STREAM : SOCK_DGRAM;
  let { address } = resolved;
  let fd = libc.socket(domainOf(address), kind | SOCK_CLOEXEC, 0);
  if (
    fd < 0 &&
    address.kind === "inet" &&
    address.allAddresses &&
    libc.errnoName(koffi.errno()) === "EAFNOSUPPORT"
  ) {
    // No IPv6 on this host: every address is every IPv4 address.
    address = { ...address, family: 4, host: "0.0.0.0" };
    fd = libc.socket(AF_INET, kind | SOCK_CLOEXEC, 0);
  }
  if (fd < 0) {
    const errno = koffi.errno();
    throw syscallError(libc, "socket", what, errno, socketHint(libc.errnoName(errno), address));
  }
  let bound: Stats | undefined;
  try {
    if (address.kind === "inet") {
      if (resolved.type === "stream") setOption(libc, fd, SOL_SOCKET, SO_REUSEADDR, 1, what);
      if (address.family === 6) {
        setOption(libc, fd, IPPROTO_IPV6, IPV6_V6ONLY, address.allAddresses ? 0 : 1, what);
      }
    }
    const path = address.kind === "unix" && !address.path.startsWith("@") ? address.path : "";
    if (path !== "") removeStaleSocket(path, what);
    const addr =
      address.kind === "unix"
        ? encodeUnixAddress(address.path, what)
        : encodeInetAddress(libc, address, what);
    if (libc.bind(fd, addr, addr.length) < 0) {
      const errno = koffi.errno();
      throw syscallError(libc, "bind", what, errno, bindFailure(libc.errnoName(errno), address));
    }
    if (path !== "") {
      bound = lstatSync(path);
      fileCall(what, `chmod ${resolved.mode.toString(8).padStart(4, "0")}`, () =>
        chmodSync(path, resolved.mode),
      );
      const { owner } = resolved;
      if (owner !== undefined) {
        fileCall(what, `chown ${owner.uid}:${owner.gid}`, () =>
          chownSync(path, owner.uid, owner.gid),
        );
      }
    }
    if (resolved.type === "stream" && libc.listen(fd, resolved.backlog) < 0) {
      throw syscallError(libc, "listen", what, koffi.errno());
    }
  } catch (e) {
    libc.close(fd);
    if (bound !== undefined && address.kind === "unix") unlinkIfSame(address.path, bound);
    throw e;
  }
  return new HeldSocket(libc, fd, address, resolved.type, bound, what);
}

function domainOf(address: ListenAddress): number {
  if (address.kind === "unix") return AF_UNIX;
  return address.family === 6 ? AF_INET6 : AF_INET;
}

function setOption(
  libc: Libc,
  fd: number,
  level: number,
  option: number,
  value: number,
  what: string,
): void {
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value);
  if (libc.setsockopt(fd, level, option, buf, 4) < 0) {
    const name = option === SO_REUSEADDR ? "SO_REUSEADDR" : "IPV6_V6ONLY";
    throw syscallError(libc, `setsockopt(${name})`, what, libc.koffi.errno());
  }
}

function fileCall(what: string, call: string, run: () => void): void {
  try {
    run();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    const hint = code === "EPERM" ? " (only root may give the file away)" : "";
    throw new PlatformError("socket-call", `${what}: ${call} failed: ${code}${hint}`, {
      cause: e,
    });
  }
}

/** `struct sockaddr_in` / `struct sockaddr_in6`: family in host order, the rest in network order. */
function encodeInetAddress(libc: Libc, address: InetListenAddress, what: string): Buffer {
  if (address.family === 4) {
    const addr = Buffer.alloc(16);
    addr.writeUInt16LE(AF_INET, 0);
    addr.writeUInt16BE(address.port, 2);
    address.host.split(".").forEach((byte, i) => {
      addr.writeUInt8(Number(byte), 4 + i);
    });
    return addr;
  }
  const addr = Buffer.alloc(28);
  addr.writeUInt16LE(AF_INET6, 0);
  addr.writeUInt16BE(address.port, 2);
  // sin6_flowinfo (4 bytes) stays 0.
  for (const [i, word] of (ipv6Words(address.host) ?? []).entries()) {
    addr.writeUInt16BE(word, 8 + 2 * i);
  }
  const zone = /%(.+)$/.exec(address.host)?.[1];
  if (zone !== undefined) {
    const index = /^\d+$/.test(zone) ? Number(zone) : libc.ifNameToIndex(zone);
    if (index === 0 || index > 0xffffffff) {
      throw new PlatformError("socket-address", `${what}: no network interface ${zone}`);
    }
    addr.writeUInt32LE(index, 24);
  }
  return addr;
}

function socketHint(errno: string, address: ListenAddress): string | undefined {
  if (errno === "EAFNOSUPPORT" && address.kind === "inet" && address.family === 6) {
    return "this host has no IPv6";
  }
  return undefined;
}

function bindFailure(errno: string, address: ListenAddress): string | undefined {
  if (address.kind === "unix") return bindHint(errno, address.path);
  switch (errno) {
    case "EADDRINUSE":
      return "address already in use";
    case "EACCES":
      return address.port < 1024
        ? `port ${address.port} is privileged: the daemon needs CAP_NET_BIND_SERVICE`
        : undefined;
    case "EADDRNOTAVAIL":
      return "address not available on this host";
    default:
      return undefined;
  }
}

/**
 * Calls `onReady` when a connection (or, on a datagram socket, a datagram) is waiting, without
 * accepting or reading it; the returned function stops watching (idempotent; `prepareForChild`
 * and `close` stop it too). Call it before the program is started: the watch sets O_ASYNC, which
 * the program would share.
 *
 * `onReady` is called from a later turn of the event loop, at most once per turn: once right
 * away if something is already waiting, then at each SIGIO (this socket's or another's: the
 * signal does not say) that finds something waiting. One connection may thus call it more than
 * once until the caller stops watching, as it does when it starts the program. Main thread only
 * (`main-thread-only` in a worker). A watch keeps the process alive, as a listening server does.
 */
export function watchConnections(sock: ListenSocket, onReady: () => void): () => void {
  if (!(sock instanceof HeldSocket)) {
    throw new PlatformError(
      "invalid-option",
      "watchConnections: expected a socket from openListenSocket",
    );
  }
  return sock.watch(onReady);
}

class HeldSocket implements ListenSocket {
  readonly fd: number;
  readonly address: ListenAddress;
  readonly type: ListenSocketType;
  readonly #libc: Libc;
  readonly #bound: Stats | undefined;
  readonly #what: string;
  #watch: Watch | undefined;
  #closed = false;

  constructor(
    libc: Libc,
    fd: number,
    address: ListenAddress,
    type: ListenSocketType,
    bound: Stats | undefined,
    what: string,
  ) {
    this.#libc = libc;
    this.fd = fd;
    this.address = address;
    this.type = type;
    this.#bound = bound;
    this.#what = what;
  }

  watch(onReady: () => void): () => void {
    if (this.#closed) {
      throw new PlatformError("invalid-option", `${this.#what}: watched after close()`);
    }
    this.#watch?.stop();
    this.#watch = undefined;
    const watch = new Watch(this.#libc, this.fd, this.#what, onReady);
    watch.start();
    this.#watch = watch;
    return () => {
      watch.stop();
      if (this.#watch === watch) this.#watch = undefined;
    };
  }

  prepareForChild(): void {
    if (this.#closed) {
      throw new PlatformError("invalid-option", `${this.#what}: prepareForChild after close()`);
    }
    this.#watch?.stop();
    this.#watch = undefined;
    setStatusFlags(this.#libc, this.fd, this.#what, 0, O_NONBLOCK | O_ASYNC);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const watch = this.#watch;
    this.#watch = undefined;
    try {
      watch?.stop();
    } finally {
      this.#release();
    }
  }

  /** The descriptor closed, then the file removed when it is still ours. */
  #release(): void {
    const failed = this.#libc.close(this.fd) < 0 ? this.#libc.koffi.errno() : 0;
    if (this.#bound !== undefined && this.address.kind === "unix") {
      unlinkIfSame(this.address.path, this.#bound);
    }
    if (failed !== 0) throw syscallError(this.#libc, "close", this.#what, failed);
  }
}

/** Sets then clears file status flags (F_SETFL) on `fd`. */
function setStatusFlags(libc: Libc, fd: number, what: string, set: number, clear: number): void {
  const flags = libc.fcntl(fd, F_GETFL);
  if (flags < 0) throw syscallError(libc, "fcntl(F_GETFL)", what, libc.koffi.errno());
  const wanted = (flags | set) & ~clear;
  if (wanted !== flags && libc.fcntl(fd, F_SETFL, "int", wanted) < 0) {
    throw syscallError(libc, "fcntl(F_SETFL)", what, libc.koffi.errno());
  }
}

/** One watch of one socket: subscribed to SIGIO and O_ASYNC on, from start() to stop(). */
class Watch {
  readonly #libc: Libc;
  readonly #fd: number;
  readonly #what: string;
  readonly #onReady: () => void;
  /** One struct pollfd: this fd, POLLIN. */
  readonly #pollfd = Buffer.alloc(8);
  #unsubscribe: (() => Promise<void>) | undefined;
  #check: NodeJS.Immediate | undefined;
  #active = false;

  constructor(libc: Libc, fd: number, what: string, onReady: () => void) {
    this.#libc = libc;
    this.#fd = fd;
    this.#what = what;
    this.#onReady = onReady;
    this.#pollfd.writeInt32LE(fd, 0);
    this.#pollfd.writeInt16LE(POLLIN, 4);
  }

  /** Listener first, then owner and O_ASYNC; then a check for what came before. */
  start(): void {
    this.#unsubscribe = subscribeSigio(() => this.#schedule(), this.#what);
    this.#active = true;
    try {
      if (this.#libc.fcntl(this.#fd, F_SETOWN, "int", process.pid) < 0) {
        throw syscallError(this.#libc, "fcntl(F_SETOWN)", this.#what, this.#libc.koffi.errno());
      }
      setStatusFlags(this.#libc, this.#fd, this.#what, O_ASYNC, 0);
    } catch (e) {
      this.stop();
      throw e;
    }
    this.#schedule();
  }

  #schedule(): void {
    this.#check ??= setImmediate(() => {
      this.#check = undefined;
      if (this.#active && this.#waiting()) this.#onReady();
    });
  }

  /** poll(2) with a zero timeout: is a connection or a datagram waiting? Takes nothing. */
  #waiting(): boolean {
    for (;;) {
      this.#pollfd.writeInt16LE(0, 6);
      const n = this.#libc.poll(this.#pollfd, 1, 0);
      if (n >= 0) return n > 0 && (this.#pollfd.readInt16LE(6) & POLLIN) !== 0;
      const errno = this.#libc.koffi.errno();
      if (this.#libc.errnoName(errno) !== "EINTR") {
        throw syscallError(this.#libc, "poll", this.#what, errno);
      }
    }
  }

  /**
   * O_ASYNC off and no owner before the program gets the descriptor: it shares both, and a
   * program that turned O_ASYNC on for itself would otherwise signal the daemon.
   */
  stop(): void {
    if (!this.#active) return;
    this.#active = false;
    if (this.#check !== undefined) clearImmediate(this.#check);
    this.#check = undefined;
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = undefined;
    try {
      setStatusFlags(this.#libc, this.#fd, this.#what, 0, O_ASYNC);
      if (this.#libc.fcntl(this.#fd, F_SETOWN, "int", 0) < 0) {
        throw syscallError(this.#libc, "fcntl(F_SETOWN)", this.#what, this.#libc.koffi.errno());
      }
    } catch (e) {
      keepSigioListener();
      throw e;
    } finally {
      void unsubscribe?.();
    }
  }
}
