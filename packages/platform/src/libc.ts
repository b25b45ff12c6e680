/**
 * The libc side of the sockets Node cannot make: unix datagram sockets (unix-datagram.ts; why
 * FFI: see there) and listening sockets held without accepting (listen-socket.ts), over koffi:
 * the constants (asm-generic, Linux), the bound functions, `struct sockaddr_un`, pointers in
 * native structures, socket options and files, sending, and errors naming the call and the errno.
 */
import { lstatSync, type Stats, unlinkSync } from "node:fs";
import { dirname, isAbsolute } from "node:path";
import { PlatformError } from "./errors.js";

type Koffi = typeof import("koffi");

export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_CLOEXEC = 0o2000000;
export const SOCK_NONBLOCK = 0o4000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const IPPROTO_IPV6 = 41;
export const IPV6_V6ONLY = 26;
export const SO_RCVBUF = 8;
export const SO_SNDTIMEO = 21;
export const SO_PASSCRED = 16;
export const SO_RCVBUFFORCE = 33;
export const SCM_RIGHTS = 1;
export const SCM_CREDENTIALS = 2;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_CMSG_CLOEXEC = 0x40000000;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const F_SETOWN = 8;
export const O_ASYNC = 0o20000;
export const O_NONBLOCK = 0o4000;
export const POLLIN = 0x001;

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

export interface Libc {
  readonly koffi: Koffi;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  listen(fd: number, backlog: number): number;
  /** poll(2) on an array of `struct pollfd` (8 bytes each: int fd, short events, short revents). */
  poll(fds: Buffer, count: number, timeoutMs: number): number;
  /**
   * sendmmsg(2) on libuv's thread pool (it may block): `done` gets the number of messages sent,
   * or -1, on the main thread. `msgvec` points to native memory that must outlive the call.
   */
  sendmmsgOffThread(
    fd: number,
    msgvec: bigint,
    count: number,
    flags: number,
    done: (error: unknown, result: number) => void,
  ): void;
  /** The index of a network interface by name; 0 when there is none. */
  ifNameToIndex(name: string): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  /** recvmsg(2) on a pointer to native memory; only ever called with MSG_DONTWAIT. */
  recvmsg(fd: number, msg: bigint, flags: number): number | bigint;
  /** fcntl(2), variadic: the argument is given as its type then its value ("int", 8). */
  fcntl(fd: number, cmd: number, ...arg: [] | ["int", number]): number;
  sendto(
    fd: number,
    buf: Buffer,
    len: number,
    flags: number,
    addr: Buffer,
    addrLen: number,
  ): number | bigint;
  close(fd: number): number;
  /** getxattr(2): the value's length, or -1 (errno) when the attribute is absent. */
  getxattr(path: string, name: string, value: Buffer, size: number): number | bigint;
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
      `sockets through libc: ${process.platform}/${process.arch} is not supported (Linux on ${[...supportedArchs].join(", ")})`,
    );
  }
  let koffi: Koffi;
  try {
    koffi = await import("koffi");
  } catch (e) {
    throw new PlatformError(
      "native-unavailable",
      `cannot load koffi (FFI) for sockets through libc: ${(e as Error).message}`,
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
  const sendmmsg = libc.func("int sendmmsg(int fd, void *msgvec, unsigned int count, int flags)");
  const names = new Map<number, string>();
  for (const [name, value] of Object.entries(koffi.os.errno)) {
    if (!names.has(value)) names.set(value, name);
  }
  return {
    koffi,
    socket: libc.func("int socket(int domain, int type, int protocol)"),
    bind: libc.func("int bind(int fd, const void *addr, uint32_t len)"),
    listen: libc.func("int listen(int fd, int backlog)"),
    poll: libc.func("int poll(void *fds, unsigned long count, int timeout)"),
    sendmmsgOffThread: (fd, msgvec, count, flags, done) =>
      sendmmsg.async(fd, msgvec, count, flags, done),
    ifNameToIndex: libc.func("unsigned int if_nametoindex(const char *name)"),
    setsockopt: libc.func(
      "int setsockopt(int fd, int level, int name, const void *value, uint32_t len)",
    ),
    recvmsg: libc.func("intptr_t recvmsg(int fd, void *msg, int flags)"),
    sendto: libc.func(
      "intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addr_len)",
    ),
    fcntl: libc.func("int fcntl(int fd, int cmd, ...)"),
    close: libc.func("int close(int fd)"),
    getxattr: libc.func(
      "intptr_t getxattr(const char *path, const char *name, void *value, size_t size)",
    ),
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

export function loadLibc(): Promise<Libc> {
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

export function callError(
  libc: Libc,
  call: string,
  what: string,
  path: string,
  errno: number,
  hint?: string,
): PlatformError {
  return syscallError(libc, call, `${what} ${path}`, errno, hint);
}

/** `subject: call failed: ERRNO (hint)`; `subject` names the socket (and its address). */
export function syscallError(
  libc: Libc,
  call: string,
  subject: string,
  errno: number,
  hint?: string,
): PlatformError {
  const name = libc.errnoName(errno);
  return new PlatformError(
    "socket-call",
    `${subject}: ${call} failed: ${name}${hint === undefined ? "" : ` (${hint})`}`,
    { errno: name },
  );
}

export function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

export function writePointer(buf: Buffer, offset: number, value: bigint, size: number): void {
  if (size === 8) buf.writeBigUInt64LE(value, offset);
  else buf.writeUInt32LE(Number(value), offset);
}

export function readPointer(buf: Buffer, offset: number, size: number): bigint {
  return size === 8 ? buf.readBigUInt64LE(offset) : BigInt(buf.readUInt32LE(offset));
}

export function setIntOption(
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
export function setReceiveBuffer(
  libc: Libc,
  fd: number,
  bytes: number,
  what: string,
  path: string,
) {
  const errno = setIntOption(libc, fd, SO_RCVBUFFORCE, bytes, what, path);
  if (errno === 0) return;
  if (libc.errnoName(errno) !== "EPERM") {
    throw callError(libc, "setsockopt(SO_RCVBUFFORCE)", what, path, errno);
  }
  setIntOption(libc, fd, SO_RCVBUF, bytes, what, path);
}

/**
 * A socket file left by an earlier run is removed; anything else there is an error. `subject`
 * names the socket and its path in errors.
 */
export function removeStaleSocket(path: string, subject: string): void {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new PlatformError("socket-call", `${subject}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (!st.isSocket()) {
    throw new PlatformError(
      "socket-call",
      `${subject}: bind failed: EADDRINUSE (a file that is not a socket exists there; not removing it)`,
    );
  }
  unlinkSync(path);
}

export function bindHint(errno: string, path: string): string | undefined {
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

export function unlinkIfSame(path: string, bound: Stats): void {
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

export function sendHint(errno: string): string | undefined {
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

/**
 * An extended attribute of `path` as text (at most 255 bytes), or undefined when it is absent
 * or unreadable. Node has no getxattr; systemd marks the cgroups it delegates with one.
 */
export async function readXattr(path: string, name: string): Promise<string | undefined> {
  const libc = await loadLibc();
  const buf = Buffer.alloc(255);
  const n = Number(libc.getxattr(path, name, buf, buf.length));
  return n >= 0 ? buf.toString("utf8", 0, n) : undefined;
}
