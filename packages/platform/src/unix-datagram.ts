/**
 * Unix datagram sockets with sender credentials (SCM_CREDENTIALS), through libc over FFI.
 *
 * Why this is hand-written over FFI: Node has no AF_UNIX SOCK_DGRAM socket at all (`net` speaks
 * unix *stream* sockets, `dgram` only UDP), and no library receives unix datagrams together with
 * the sender's credentials: the npm packages that do unix datagrams (e.g. `unix-dgram`) compile
 * their own addon and hand out the payload only, never the SCM_CREDENTIALS that the sd_notify
 * protocol depends on. So the few libc calls are made here through koffi, a maintained FFI
 * library that ships prebuilt binaries (nothing to compile on install).
 *
 * koffi is imported lazily (first socket opened or datagram sent): processes that never touch a
 * notify socket never load native code.
 *
 * Linux only; the constants are the asm-generic ones and the structures are read little-endian
 * (x86, x86-64, arm, arm64, riscv64, loongarch64): other architectures (powerpc, mips, sparc...)
 * are refused.
 */
import { chmodSync, lstatSync, type Stats, unlinkSync } from "node:fs";
import { dirname, isAbsolute } from "node:path";
import { PlatformError } from "./errors.js";

type Koffi = typeof import("koffi");

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SOCK_NONBLOCK = 0o4000;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_PASSCRED = 16;
const SO_RCVBUFFORCE = 33;
const SCM_RIGHTS = 1;
const SCM_CREDENTIALS = 2;
const MSG_TRUNC = 0x20;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const MSG_CMSG_CLOEXEC = 0x40000000;
const SHUT_RDWR = 2;

/** sun_path is 108 bytes, NUL included. */
export const unixPathMax = 107;

const supportedArchs: ReadonlySet<string> = new Set([
  "x64",
  "ia32",
  "arm",
  "arm64",
  "riscv64",
  "loong64",
]);

interface Libc {
  readonly koffi: Koffi;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  /** recvmsg(2) on a pointer to native memory; `.async` runs it in libuv's threadpool. */
  readonly recvmsg: {
    (fd: number, msg: bigint, flags: number): number | bigint;
    async(
      fd: number,
      msg: bigint,
      flags: number,
      done: (err: unknown, n: number | bigint) => void,
    ): void;
  };
  sendto(
    fd: number,
    buf: Buffer,
    len: number,
    flags: number,
    addr: Buffer,
    addrLen: number,
  ): number | bigint;
  shutdown(fd: number, how: number): number;
  close(fd: number): number;
  /** Layout of struct msghdr / cmsghdr on this architecture. */
  readonly msghdr: {
    readonly size: number;
    readonly iovOffset: number;
    readonly iovLenOffset: number;
    readonly controlOffset: number;
    readonly controlLenOffset: number;
    readonly flagsOffset: number;
  };
  readonly sizeT: number;
  errnoName(errno: number): string;
}

let libcPromise: Promise<Libc> | undefined;

async function bindLibc(): Promise<Libc> {
  if (process.platform !== "linux" || !supportedArchs.has(process.arch)) {
    throw new PlatformError(
      "native-unavailable",
      `unix datagram sockets: ${process.platform}/${process.arch} is not supported (Linux on ${[...supportedArchs].join(", ")})`,
    );
  }
  let koffi: Koffi;
  try {
    koffi = await import("koffi");
  } catch (e) {
    throw new PlatformError(
      "native-unavailable",
      `cannot load koffi (FFI) for unix datagram sockets: ${(e as Error).message}`,
      { cause: e },
    );
  }
  // dlopen(NULL): the symbols of node itself and of what it links, libc among them (glibc or
  // musl alike, no library name to guess).
  const libc = koffi.load(null);
  const msghdr = koffi.struct({
    msg_name: "void *",
    msg_namelen: "uint32_t",
    msg_iov: "void *",
    msg_iovlen: "size_t",
    msg_control: "void *",
    msg_controllen: "size_t",
    msg_flags: "int",
  });
  const names = new Map<number, string>();
  for (const [name, value] of Object.entries(koffi.os.errno)) {
    if (!names.has(value)) names.set(value, name);
  }
  return {
    koffi,
    socket: libc.func("int socket(int domain, int type, int protocol)"),
    bind: libc.func("int bind(int fd, const void *addr, uint32_t len)"),
    setsockopt: libc.func(
      "int setsockopt(int fd, int level, int name, const void *value, uint32_t len)",
    ),
    recvmsg: libc.func("intptr_t recvmsg(int fd, void *msg, int flags)"),
    sendto: libc.func(
      "intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addr_len)",
    ),
    shutdown: libc.func("int shutdown(int fd, int how)"),
    close: libc.func("int close(int fd)"),
    msghdr: {
      size: koffi.sizeof(msghdr),
      iovOffset: koffi.offsetof(msghdr, "msg_iov"),
      iovLenOffset: koffi.offsetof(msghdr, "msg_iovlen"),
      controlOffset: koffi.offsetof(msghdr, "msg_control"),
      controlLenOffset: koffi.offsetof(msghdr, "msg_controllen"),
      flagsOffset: koffi.offsetof(msghdr, "msg_flags"),
    },
    sizeT: koffi.sizeof("size_t"),
    errnoName: (errno) => names.get(errno) ?? `errno ${errno}`,
  };
}

function loadLibc(): Promise<Libc> {
  libcPromise ??= bindLibc();
  return libcPromise;
}

/**
 * `struct sockaddr_un` for `path`: a file system path, or `@name` for a name in the abstract
 * namespace (as systemd writes it in `$NOTIFY_SOCKET`). `what` names the socket in errors.
 */
export function encodeUnixAddress(path: string, what: string): Buffer {
  const abstract = path.startsWith("@");
  const name = Buffer.from(abstract ? path.slice(1) : path, "utf8");
  if (name.length === 0 || name.includes(0)) {
    throw new PlatformError(
      "socket-address",
      `${what} ${JSON.stringify(path)}: expected an absolute path or @name, without NUL bytes`,
    );
  }
  if (!abstract && !isAbsolute(path)) {
    throw new PlatformError(
      "socket-address",
      `${what} ${JSON.stringify(path)}: expected an absolute path (or @name for an abstract socket)`,
    );
  }
  if (name.length > unixPathMax) {
    throw new PlatformError(
      "socket-address",
      `${what} ${path}: ${name.length} bytes long, a unix socket path holds at most ${unixPathMax} bytes (sun_path is 108, NUL included)`,
    );
  }
  // sa_family, then the path and its NUL, or a NUL and the abstract name (no NUL: the length
  // given to the kernel delimits it).
  const addr = Buffer.alloc(2 + 1 + name.length);
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, abstract ? 3 : 2);
  return addr;
}

function callError(
  libc: Libc,
  call: string,
  what: string,
  path: string,
  errno: number,
  hint?: string,
): PlatformError {
  const name = libc.errnoName(errno);
  return new PlatformError(
    "socket-call",
    `${what} ${path}: ${call} failed: ${name}${hint === undefined ? "" : ` (${hint})`}`,
  );
}

/** The sender's credentials of a datagram, as the kernel vouches for them. */
export interface SenderCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

/** One datagram as received: its bytes (up to the buffer), its size and who sent it. */
export interface ReceivedDatagram {
  /** The payload; cut at the buffer's size when `truncated`. */
  readonly data: Buffer;
  /** The datagram's real size (it is larger than `data` when truncated). */
  readonly size: number;
  readonly truncated: boolean;
  /** Absent when the datagram came without SCM_CREDENTIALS. */
  readonly credentials: SenderCredentials | undefined;
  /** File descriptors that came with it (SCM_RIGHTS): already closed. */
  readonly closedFds: number;
}

export interface DatagramReceiverOptions {
  /** Largest datagram accepted; longer ones arrive with `truncated`. */
  readonly maxDatagramBytes: number;
  /** SO_RCVBUF: how many bytes of datagrams the kernel queues before senders wait. */
  readonly receiveBufferBytes: number;
  /** The socket file's mode (`chmod` after `bind`); ignored for @abstract names. */
  readonly mode: number;
  /** Names the socket in error messages ("notify socket"). */
  readonly what: string;
  onDatagram(datagram: ReceivedDatagram): void;
  /** recvmsg failed for good: the receiver has stopped and released everything. */
  onFailure(error: PlatformError): void;
}

export interface DatagramReceiver {
  readonly path: string;
  /** Stops receiving, closes the socket, removes its file; idempotent. */
  close(): Promise<void>;
}

/** Control buffer: one ucred and up to SCM_MAX_FD (253) descriptors, each cmsg aligned. */
const controlBytes = 2048;

/**
 * Binds a unix datagram socket at `path` (a stale socket there is replaced) that receives with
 * SO_PASSCRED, and starts receiving.
 *
 * Receiving never blocks the event loop: each recvmsg(2) is a blocking call made through koffi's
 * async call, i.e. in libuv's threadpool, and is re-armed after every datagram. While the socket
 * is open it therefore occupies one threadpool thread (of UV_THREADPOOL_SIZE, 4 by default) and
 * keeps the process alive; `close()` wakes the blocked call with shutdown(2), waits for it to
 * return, and only then closes the descriptor (never closed under a running call) and frees the
 * native buffers. The datagram and its control messages are copied out of the native buffer
 * before the next call is armed.
 */
export async function openDatagramReceiver(
  path: string,
  options: DatagramReceiverOptions,
): Promise<DatagramReceiver> {
  const { what } = options;
  const addr = encodeUnixAddress(path, what);
  const abstract = path.startsWith("@");
  const libc = await loadLibc();
  const { koffi } = libc;

  const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw callError(libc, "socket", what, path, koffi.errno());
  let bound: Stats | undefined;
  try {
    setIntOption(libc, fd, SO_PASSCRED, 1, what, path);
    setReceiveBuffer(libc, fd, options.receiveBufferBytes, what, path);
    if (!abstract) removeStaleSocket(path, what);
    if (libc.bind(fd, addr, addr.length) < 0) {
      const errno = koffi.errno();
      throw callError(libc, "bind", what, path, errno, bindHint(libc.errnoName(errno), path));
    }
    if (!abstract) {
      bound = lstatSync(path);
      chmodSync(path, options.mode);
    }
  } catch (e) {
    libc.close(fd);
    if (bound !== undefined) unlinkIfSame(path, bound);
    throw e;
  }
  return new Receiver(libc, fd, path, bound, options);
}

function setIntOption(
  libc: Libc,
  fd: number,
  option: number,
  value: number,
  what: string,
  path: string,
): number {
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value);
  if (libc.setsockopt(fd, SOL_SOCKET, option, buf, 4) === 0) return 0;
  const errno = libc.koffi.errno();
  if (option === SO_RCVBUFFORCE) return errno;
  throw callError(libc, `setsockopt(${optionName(option)})`, what, path, errno);
}

function optionName(option: number): string {
  return option === SO_PASSCRED ? "SO_PASSCRED" : option === SO_RCVBUF ? "SO_RCVBUF" : "?";
}

/** SO_RCVBUFFORCE when privileged (CAP_NET_ADMIN: above net.core.rmem_max), else SO_RCVBUF. */
function setReceiveBuffer(libc: Libc, fd: number, bytes: number, what: string, path: string) {
  const errno = setIntOption(libc, fd, SO_RCVBUFFORCE, bytes, what, path);
  if (errno === 0) return;
  if (libc.errnoName(errno) !== "EPERM") {
    throw callError(libc, "setsockopt(SO_RCVBUFFORCE)", what, path, errno);
  }
  setIntOption(libc, fd, SO_RCVBUF, bytes, what, path);
}

/** A socket file left by an earlier run is removed; anything else there is an error. */
function removeStaleSocket(path: string, what: string): void {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new PlatformError("socket-call", `${what} ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (!st.isSocket()) {
    throw new PlatformError(
      "socket-call",
      `${what} ${path}: bind failed: EADDRINUSE (a file that is not a socket exists there; not removing it)`,
    );
  }
  unlinkSync(path);
}

function bindHint(errno: string, path: string): string | undefined {
  if (path.startsWith("@")) {
    return errno === "EADDRINUSE" ? "another socket holds that abstract name" : undefined;
  }
  switch (errno) {
    case "ENOENT":
      return `directory ${dirname(path)} does not exist`;
    case "ENOTDIR":
      return `a component of ${dirname(path)} is not a directory`;
    case "EACCES":
      return `no permission to create it in ${dirname(path)}`;
    case "EADDRINUSE":
      return "something was created there while binding";
    case "EROFS":
      return "read-only file system";
    default:
      return undefined;
  }
}

function unlinkIfSame(path: string, bound: Stats): void {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  // Another process may have bound a new socket there since: only ours is removed.
  if (st.ino === bound.ino && st.dev === bound.dev) unlinkSync(path);
}

/** Errors of recvmsg after which the next call may well succeed. */
const transientErrors: ReadonlySet<string> = new Set(["EINTR", "ENOMEM", "ENOBUFS", "EAGAIN"]);

class Receiver implements DatagramReceiver {
  readonly path: string;
  readonly #libc: Libc;
  readonly #fd: number;
  readonly #bound: Stats | undefined;
  readonly #options: DatagramReceiverOptions;
  /** Native memory: msghdr, one iovec, the data buffer, the control buffer. */
  readonly #mem: bigint;
  readonly #view: Buffer;
  readonly #dataOffset: number;
  readonly #controlOffset: number;
  #state: "receiving" | "closing" | "closed" = "receiving";
  #inFlight = false;
  #callDone: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  constructor(
    libc: Libc,
    fd: number,
    path: string,
    bound: Stats | undefined,
    options: DatagramReceiverOptions,
  ) {
    this.#libc = libc;
    this.#fd = fd;
    this.path = path;
    this.#bound = bound;
    this.#options = options;
    const { koffi, msghdr, sizeT } = libc;
    const iovOffset = align(msghdr.size, 16);
    this.#dataOffset = iovOffset + 2 * sizeT;
    this.#controlOffset = align(this.#dataOffset + options.maxDatagramBytes, 16);
    const total = this.#controlOffset + controlBytes;
    this.#mem = koffi.alloc("uint8_t", total) as bigint;
    this.#view = Buffer.from(koffi.view(this.#mem, total));
    this.#view.fill(0);
    const m = this.#view;
    writePointer(m, msghdr.iovOffset, this.#mem + BigInt(iovOffset), sizeT);
    writePointer(m, msghdr.iovLenOffset, 1n, sizeT);
    writePointer(m, msghdr.controlOffset, this.#mem + BigInt(this.#controlOffset), sizeT);
    writePointer(m, iovOffset, this.#mem + BigInt(this.#dataOffset), sizeT);
    writePointer(m, iovOffset + sizeT, BigInt(options.maxDatagramBytes), sizeT);
    this.#arm();
  }

  #arm(): void {
    const { msghdr, sizeT } = this.#libc;
    // The kernel rewrites these two at every call.
    writePointer(this.#view, msghdr.controlLenOffset, BigInt(controlBytes), sizeT);
    this.#view.writeInt32LE(0, msghdr.flagsOffset);
    this.#inFlight = true;
    this.#libc.recvmsg.async(this.#fd, this.#mem, MSG_CMSG_CLOEXEC | MSG_TRUNC, (err, n) =>
      this.#completed(err, Number(n)),
    );
  }

  #completed(err: unknown, n: number): void {
    const errno = this.#libc.koffi.errno();
    this.#inFlight = false;
    const datagram = err === null && n >= 0 ? this.#take(n) : undefined;
    if (this.#state !== "receiving") {
      this.#callDone?.();
      return;
    }
    if (datagram !== undefined) {
      this.#arm();
      this.#options.onDatagram(datagram);
      return;
    }
    const name = err === null ? this.#libc.errnoName(errno) : "";
    if (err === null && transientErrors.has(name)) {
      this.#arm();
      return;
    }
    const failure =
      err === null
        ? callError(this.#libc, "recvmsg", this.#options.what, this.path, errno)
        : new PlatformError(
            "socket-call",
            `${this.#options.what} ${this.path}: recvmsg failed: ${(err as Error).message}`,
            { cause: err },
          );
    this.close().then(
      () => this.#options.onFailure(failure),
      (e: unknown) => this.#options.onFailure(PlatformError.from(e)),
    );
  }

  /** Copies the datagram out of native memory and closes any descriptor that came with it. */
  #take(n: number): ReceivedDatagram {
    const { msghdr, sizeT } = this.#libc;
    const flags = this.#view.readInt32LE(msghdr.flagsOffset);
    const controlLen = Number(readPointer(this.#view, msghdr.controlLenOffset, sizeT));
    const kept = Math.min(n, this.#options.maxDatagramBytes);
    const data = Buffer.from(this.#view.subarray(this.#dataOffset, this.#dataOffset + kept));
    let credentials: SenderCredentials | undefined;
    let closedFds = 0;
    const control = this.#view.subarray(
      this.#controlOffset,
      this.#controlOffset + Math.min(controlLen, controlBytes),
    );
    // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } then data, each
    // header and data aligned to sizeof(size_t) (CMSG_ALIGN).
    const header = align(sizeT + 8, sizeT);
    for (let at = 0; at + header <= control.length; ) {
      const len = Number(readPointer(control, at, sizeT));
      if (len < header || at + len > control.length) break;
      const level = control.readInt32LE(at + sizeT);
      const type = control.readInt32LE(at + sizeT + 4);
      const body = control.subarray(at + header, at + len);
      if (level === SOL_SOCKET && type === SCM_CREDENTIALS && body.length >= 12) {
        credentials = {
          pid: body.readInt32LE(0),
          uid: body.readUInt32LE(4),
          gid: body.readUInt32LE(8),
        };
      } else if (level === SOL_SOCKET && type === SCM_RIGHTS) {
        for (let i = 0; i + 4 <= body.length; i += 4) {
          this.#libc.close(body.readInt32LE(i));
          closedFds++;
        }
      }
      at += align(len, sizeT);
    }
    // With MSG_CTRUNC, descriptors that did not fit were never installed: the kernel dropped them.
    return {
      data,
      size: n,
      truncated: (flags & MSG_TRUNC) !== 0 || n > this.#options.maxDatagramBytes,
      credentials,
      closedFds,
    };
  }

  close(): Promise<void> {
    this.#closed ??= this.#release();
    return this.#closed;
  }

  async #release(): Promise<void> {
    this.#state = "closing";
    if (this.#inFlight) {
      const returned = new Promise<void>((resolve) => {
        this.#callDone = resolve;
      });
      // Wakes the recvmsg blocked in the threadpool: it returns 0 (or a datagram still queued).
      if (this.#libc.shutdown(this.#fd, SHUT_RDWR) < 0) {
        throw callError(
          this.#libc,
          "shutdown",
          this.#options.what,
          this.path,
          this.#libc.koffi.errno(),
        );
      }
      await returned;
    }
    this.#state = "closed";
    this.#libc.close(this.#fd);
    this.#libc.koffi.free(this.#mem);
    if (this.#bound !== undefined) unlinkIfSame(this.path, this.#bound);
  }
}

/**
 * Sends one datagram to the unix datagram socket at `path` (or `@name`), without waiting: a
 * receiver whose queue is full makes it fail with EAGAIN rather than block.
 */
export async function sendDatagram(path: string, data: Buffer, what: string): Promise<void> {
  const addr = encodeUnixAddress(path, what);
  const libc = await loadLibc();
  const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw callError(libc, "socket", what, path, libc.koffi.errno());
  try {
    const n = Number(
      libc.sendto(fd, data, data.length, MSG_DONTWAIT | MSG_NOSIGNAL, addr, addr.length),
    );
    if (n < 0) {
      const errno = libc.koffi.errno();
      throw callError(libc, "sendto", what, path, errno, sendHint(libc.errnoName(errno)));
    }
  } finally {
    libc.close(fd);
  }
}

function sendHint(errno: string): string | undefined {
  switch (errno) {
    case "ENOENT":
      return "no socket there";
    case "ECONNREFUSED":
      return "nothing receives on it";
    case "EAGAIN":
      return "the receiver's queue is full";
    case "EACCES":
      return "no permission to write to it";
    case "EMSGSIZE":
      return "datagram too large";
    default:
      return undefined;
  }
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

function writePointer(buf: Buffer, offset: number, value: bigint, size: number): void {
  if (size === 8) buf.writeBigUInt64LE(value, offset);
  else buf.writeUInt32LE(Number(value), offset);
}

function readPointer(buf: Buffer, offset: number, size: number): bigint {
  return size === 8 ? buf.readBigUInt64LE(offset) : BigInt(buf.readUInt32LE(offset));
}
