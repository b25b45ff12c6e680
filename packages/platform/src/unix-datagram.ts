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
 * Receiving is signal-driven I/O (O_ASYNC): the socket is non-blocking, owned by this process
 * (F_SETOWN), and the kernel sends SIGIO when a datagram arrives. The one process-wide SIGIO
 * listener (sigio.ts, shared with the watched listening sockets of listen-socket.ts) schedules a
 * drain (setImmediate: every signal read in one poll phase makes one drain) that calls
 * recvmsg(2) with MSG_DONTWAIT on every open receiver until EAGAIN. Signals coalesce,
 * so one signal may stand for many datagrams: draining to EAGAIN makes that harmless. A drain
 * takes at most {@link drainBudget} datagrams per socket, then goes on at the next turn of the
 * event loop, so that a flood cannot starve it. No thread is held while waiting.
 *
 * The alternatives, and why not:
 * - A blocking recvmsg run with koffi's async call in libuv's threadpool (what this module did):
 *   one of the pool's threads (4 by default, shared with fs, dns.lookup, crypto and zlib) is
 *   taken per open socket until close, so 4 open sockets starve every other async operation of
 *   the process and it hangs.
 * - Polling the descriptor from the event loop (uv_poll): Node exposes no uv_poll, and none of
 *   its handle types (net, dgram, fs) can adopt an AF_UNIX datagram descriptor.
 *
 * What that implies (kept by sigio.ts): receivers work on the main thread only (signals are
 * delivered to its listeners, a worker thread has none: opening one there is refused, as SIGIO's
 * default action terminates the process). The SIGIO listener is installed before the first
 * O_ASYNC is set and removed once the last receiver has cleared its O_ASYNC and closed. Node
 * unrefs signal listeners, and a loop that exits never reads the signals already caught, so a
 * datagram that has arrived would be lost: an open receiver keeps the process alive (as the
 * threadpool call did). libuv installs its signal handlers with SA_RESTART, so the signal does
 * not make other threads' system calls fail with EINTR (libuv already lives with SIGCHLD the
 * same way).
 *
 * koffi is imported lazily (first socket opened or datagram sent): processes that never touch a
 * notify socket never load native code.
 *
 * Linux only; the constants are the asm-generic ones and the structures are read little-endian
 * (x86, x86-64, arm, arm64, riscv64, loongarch64): other architectures (powerpc, mips, sparc...)
 * are refused.
 */
import { chmodSync, lstatSync, type Stats } from "node:fs";
import { isMainThread } from "node:worker_threads";
import { PlatformError } from "./errors.js";
import {
  AF_UNIX,
  align,
  bindHint,
  callError,
  encodeUnixAddress,
  F_GETFL,
  F_SETFL,
  F_SETOWN,
  type Libc,
  loadLibc,
  MSG_CMSG_CLOEXEC,
  MSG_DONTWAIT,
  MSG_TRUNC,
  O_ASYNC,
  readPointer,
  removeStaleSocket,
  SCM_CREDENTIALS,
  SCM_RIGHTS,
  SO_PASSCRED,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOL_SOCKET,
  setIntOption,
  setReceiveBuffer,
  unlinkIfSame,
  writePointer,
} from "./libc.js";
import { keepSigioListener, subscribeSigio } from "./sigio.js";

/** recvmsg calls (datagrams) on one socket in one drain, before yielding to the event loop. */
export const drainBudget = 256;
/** After ENOMEM or ENOBUFS from recvmsg, the next try. */
const retryDelayMs = 10;

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
  /**
   * Stops receiving at once (no callback after this is called), closes the socket, removes its
   * file when it is still ours; idempotent.
   */
  close(): Promise<void>;
}

/** Control buffer: one ucred and up to SCM_MAX_FD (253) descriptors, each cmsg aligned. */
const controlBytes = 2048;

/**
 * Binds a unix datagram socket at `path` (a stale socket there is replaced) that receives with
 * SO_PASSCRED, and starts receiving. Main thread only (see the module comment).
 *
 * Receiving never blocks the event loop and holds no thread: the socket is non-blocking and
 * signal-driven (O_ASYNC, SIGIO to this process), drained with MSG_DONTWAIT when a signal comes
 * and once right after opening (for what was queued before O_ASYNC was set). `onDatagram` is
 * only ever called from a later turn of the event loop, never before this resolves. An open
 * receiver keeps the process alive. Each datagram and its control messages are copied
 * out of the native buffer before the callback is called; `close()` takes effect at once (no
 * callback after it, even from a drain under way), clears O_ASYNC, closes the descriptor and
 * frees the native buffers.
 */
export async function openDatagramReceiver(
  path: string,
  options: DatagramReceiverOptions,
): Promise<DatagramReceiver> {
  const { what } = options;
  const addr = encodeUnixAddress(path, what);
  if (!isMainThread) {
    throw new PlatformError(
      "main-thread-only",
      `${what} ${path}: a unix datagram receiver can only be opened on the main thread (it is woken by SIGIO, whose listeners run there), not in a worker thread`,
    );
  }
  const abstract = path.startsWith("@");
  const libc = await loadLibc();
  const { koffi } = libc;

  const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw callError(libc, "socket", what, path, koffi.errno());
  let bound: Stats | undefined;
  try {
    setIntOption(libc, fd, SO_PASSCRED, 1, what, path);
    setReceiveBuffer(libc, fd, options.receiveBufferBytes, what, path);
    // SIGIO goes to this process (nothing is sent before O_ASYNC is set, in start()).
    if (libc.fcntl(fd, F_SETOWN, "int", process.pid) < 0) {
      throw callError(libc, "fcntl(F_SETOWN)", what, path, koffi.errno());
    }
    if (!abstract) removeStaleSocket(path, `${what} ${path}`);
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
  const receiver = new Receiver(libc, fd, path, bound, options);
  try {
    receiver.start();
  } catch (e) {
    await receiver.close();
    throw e;
  }
  return receiver;
}

const receivers = new Set<Receiver>();
/** Set while a receiver is open: leaves the process-wide SIGIO listener (sigio.ts). */
let unsubscribe: (() => Promise<void>) | undefined;
/** The last unsubscribe under way: a close() concurrent with the last one waits for it too. */
let unsubscribing: Promise<void> | undefined;
let drainScheduled: NodeJS.Immediate | undefined;
let retryTimer: NodeJS.Timeout | undefined;

/** Before the first O_ASYNC is set: SIGIO's default action terminates the process. */
function listen(what: string): void {
  unsubscribe ??= subscribeSigio(scheduleDrain, what);
}

/** Once no receiver is left, each having cleared its O_ASYNC. */
async function stopListening(): Promise<void> {
  if (receivers.size > 0) return;
  if (unsubscribe !== undefined) {
    if (drainScheduled !== undefined) clearImmediate(drainScheduled);
    if (retryTimer !== undefined) clearTimeout(retryTimer);
    drainScheduled = undefined;
    retryTimer = undefined;
    unsubscribing = unsubscribe();
    unsubscribe = undefined;
  }
  await unsubscribing;
}

/**
 * Drains every open receiver now rather than at the next check phase: for a caller about to act
 * on an event that datagrams sent before it may change (a child's exit after its last sd_notify
 * message, MAINPID= among them: systemd too reads the notify socket before a SIGCHLD).
 */
export function drainReceiversNow(): void {
  if (drainScheduled !== undefined) clearImmediate(drainScheduled);
  if (receivers.size > 0) drainAll();
}

/** At each SIGIO: every signal read in one poll phase makes one drain, in the check phase. */
function scheduleDrain(): void {
  drainScheduled ??= setImmediate(drainAll);
}

/**
 * Drains every open receiver. A callback that throws does not keep the others from draining:
 * the first error is thrown at the end (an uncaught exception, as from any I/O callback), and
 * the drain goes on at the next turn.
 */
function drainAll(): void {
  drainScheduled = undefined;
  let again = false;
  let later = false;
  let failure: { readonly error: unknown } | undefined;
  for (const receiver of [...receivers]) {
    try {
      const result = receiver.drain();
      if (result === "more") again = true;
      else if (result === "retry") later = true;
    } catch (e) {
      again = true;
      failure ??= { error: e };
    }
  }
  if (again) scheduleDrain();
  else if (later) {
    retryTimer ??= setTimeout(() => {
      retryTimer = undefined;
      scheduleDrain();
    }, retryDelayMs);
  }
  if (failure !== undefined) throw failure.error;
}

/**
 * What a drain of one socket ended on: its queue is empty ("empty"), the budget is spent
 * ("more"), recvmsg failed in a way that may pass ("retry"), or the receiver is closed.
 */
type DrainResult = "empty" | "more" | "retry" | "closed";

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
  /** False from the moment close() is called: no callback, no system call on #fd. */
  #open = true;
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
  }

  /** Listener first, then O_ASYNC; then a drain for what was queued before. */
  start(): void {
    receivers.add(this);
    listen(this.#options.what);
    this.#setAsync(true);
    scheduleDrain();
  }

  #setAsync(on: boolean): void {
    const libc = this.#libc;
    const flags = libc.fcntl(this.#fd, F_GETFL);
    const call = flags < 0 ? "fcntl(F_GETFL)" : "fcntl(F_SETFL)";
    if (
      flags < 0 ||
      libc.fcntl(this.#fd, F_SETFL, "int", on ? flags | O_ASYNC : flags & ~O_ASYNC) < 0
    ) {
      throw callError(libc, call, this.#options.what, this.path, libc.koffi.errno());
    }
  }

  /** Takes up to drainBudget datagrams, each handed to onDatagram as it comes. */
  drain(): DrainResult {
    const libc = this.#libc;
    for (let calls = 0; calls < drainBudget; calls++) {
      if (!this.#open) return "closed";
      const { msghdr, sizeT } = libc;
      // The kernel rewrites these two at every call.
      writePointer(this.#view, msghdr.controlLenOffset, BigInt(controlBytes), sizeT);
      this.#view.writeInt32LE(0, msghdr.flagsOffset);
      const n = Number(
        libc.recvmsg(this.#fd, this.#mem, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC),
      );
      if (n < 0) {
        const errno = libc.koffi.errno();
        const name = libc.errnoName(errno);
        if (name === "EAGAIN" || name === "EWOULDBLOCK") return "empty";
        if (name === "EINTR") continue;
        if (name === "ENOMEM" || name === "ENOBUFS") return "retry";
        this.#fail(callError(libc, "recvmsg", this.#options.what, this.path, errno));
        return "closed";
      }
      this.#options.onDatagram(this.#take(n));
    }
    return this.#open ? "more" : "closed";
  }

  /** recvmsg failed for good: released, then onFailure. */
  #fail(failure: PlatformError): void {
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
    this.#open = false;
    receivers.delete(this);
    try {
      try {
        // O_ASYNC off before the descriptor goes: a copy of it (in a child between fork and
        // exec) would keep the socket alive, signalling this process after the listener is gone.
        this.#setAsync(false);
      } catch (e) {
        keepSigioListener();
        throw e;
      } finally {
        this.#libc.close(this.#fd);
        this.#libc.koffi.free(this.#mem);
        if (this.#bound !== undefined) unlinkIfSame(this.path, this.#bound);
      }
    } finally {
      await stopListening();
    }
  }
}
