import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  mkdirSync,
  openSync,
  writeSync,
  writev,
} from "node:fs";
import { dirname } from "node:path";

const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;
const excl = flags | constants.O_EXCL;
const existing = constants.O_WRONLY | constants.O_APPEND;

/**
 * Chunks up to this size are written at once when nothing waits: a line, and a whole read of a
 * pipe (libuv reads 64 KiB at most).
 */
const syncWriteMax = 64 * 1024;
/** Above this many queued bytes `write` asks the reader to pause; it resumes below `lowWater`. */
const highWater = 8 * 1024 * 1024;
const lowWater = 1024 * 1024;

/**
 * An append-only log file the supervisor writes child output to, in order, losing nothing.
 *
 * Chunks of up to 64 KiB (a line, a whole read of a pipe) are written synchronously when
 * nothing is queued: one `write(2)` straight from the caller's buffer, no copy, no thread hop
 * (for a child writing 64 KiB blocks this halved the daemon's CPU and the time to the last byte
 * went down to the writer's own: bench/README.md). Larger chunks, and whatever arrives while a
 * write is in flight, are queued (copied) and written by `writev` on libuv's thread pool. Past
 * 8 MiB queued `write` returns false and the caller pauses its pipe until `drained()` (the
 * child then blocks on its full pipe: slowed down, never dropped). `flushed()` resolves once
 * everything accepted so far is in the file. Reopened for logrotate between two writes.
 */
export class LogSink {
  readonly path: string;
  private fd: number | null = null;
  private refs = 0;
  private owner: { uid: number; gid: number } | undefined;
  private readonly onError: ((error: Error) => void) | undefined;
  private queue: Buffer[] = [];
  private queued = 0;
  private writing = false;
  private reopenPending = false;
  private closePending = false;
  /** Bytes accepted by `write` and bytes since written (or dropped by a failed write). */
  private accepted = 0;
  private done = 0;
  private flushWaiters: { until: number; resolve: () => void }[] = [];
  private drainWaiters: (() => void)[] = [];

  /** `onError`: a queued write failed (its bytes are dropped; later writes are tried again). */
  constructor(path: string, onError?: (error: Error) => void) {
    this.path = path;
    this.onError = onError;
  }

  /** Take a reference (one per pipe or hook stream); opens the file on the first one. */
  acquire(owner: { uid: number; gid: number } | undefined): void {
    if (owner) this.owner = owner;
    this.closePending = false;
    if (this.fd === null) this.open();
    this.refs++;
  }

  /** Drop a reference; the file closes on the last one, once what is queued is written. */
  release(): void {
    if (this.refs > 0) this.refs--;
    if (this.refs === 0) this.close();
  }

  get isOpen(): boolean {
    return this.fd !== null;
  }

  /**
   * Append a chunk. Throws when a synchronous write fails. Returns false when the queue is
   * past its high-water mark: pause the source until `drained()`. The chunk is not kept: what
   * is not written at once is queued as a copy (callers pass views of a reused read buffer).
   */
  write(chunk: Buffer): boolean {
    const fd = this.fd;
    if (fd === null || chunk.length === 0) return true;
    if (!this.writing && this.queue.length === 0 && chunk.length <= syncWriteMax) {
      let off = 0;
      while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
      return true;
    }
    this.accepted += chunk.length;
    this.queue.push(Buffer.from(chunk));
    this.queued += chunk.length;
    this.flush();
    return this.queued < highWater;
  }

  writeLine(text: string): void {
    this.write(Buffer.from(`${text}\n`));
  }

  /** Resolves when everything accepted so far is in the file (or failed to get there). */
  flushed(): Promise<void> {
    const until = this.accepted;
    if (this.done >= until) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push({ until, resolve }));
  }

  /** Whether some accepted bytes are still on their way to the file. */
  get pending(): boolean {
    return this.done < this.accepted;
  }

  /** Resolves when the queue is below its low-water mark. */
  drained(): Promise<void> {
    if (this.queued < lowWater) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Closes and opens the path again (after logrotate renamed it), between two writes. */
  reopen(): void {
    if (this.fd === null) return;
    if (this.writing) {
      this.reopenPending = true;
      return;
    }
    this.closeFd();
    this.open();
  }

  close(): void {
    if (this.writing || this.queue.length > 0) {
      this.closePending = true;
      return;
    }
    this.closeFd();
  }

  private flush(): void {
    if (this.writing) return;
    if (this.reopenPending) {
      this.reopenPending = false;
      if (this.fd !== null) {
        this.closeFd();
        try {
          this.open();
        } catch (e) {
          // The file cannot be opened again: what is queued now is dropped, and reported.
          this.onError?.(e as Error);
        }
      }
    }
    const fd = this.fd;
    if (fd === null || this.queue.length === 0) {
      this.advance(this.queued);
      this.queue = [];
      this.queued = 0;
      this.settled();
      return;
    }
    const bufs = this.queue;
    const length = this.queued;
    this.queue = [];
    this.queued = 0;
    this.writing = true;
    writev(fd, bufs, (error, written) => {
      this.writing = false;
      if (error) {
        this.advance(length);
        this.onError?.(error);
      } else {
        if (written < length) this.requeueTail(bufs, written);
        this.advance(Math.min(written, length));
      }
      if (this.queued < lowWater) for (const w of this.drainWaiters.splice(0)) w();
      this.flush();
    });
  }

  /** A short write: what was not written goes back to the front of the queue. */
  private requeueTail(bufs: Buffer[], written: number): void {
    const rest: Buffer[] = [];
    let skip = written;
    for (const b of bufs) {
      if (skip >= b.length) skip -= b.length;
      else {
        rest.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    this.queue = [...rest, ...this.queue];
    this.queued += rest.reduce((n, b) => n + b.length, 0);
  }

  /** Nothing queued or in flight: a deferred close happens, waiters wake up. */
  private settled(): void {
    if (this.closePending) {
      this.closePending = false;
      this.closeFd();
    }
    for (const w of this.drainWaiters.splice(0)) w();
  }

  /** `bytes` more reached the file (or were dropped): wake the waiters they satisfy, in order. */
  private advance(bytes: number): void {
    this.done += bytes;
    while (this.flushWaiters.length > 0 && (this.flushWaiters[0]?.until ?? 0) <= this.done) {
      this.flushWaiters.shift()?.resolve();
    }
  }

  private closeFd(): void {
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      closeSync(fd);
    }
  }

  private open(): void {
    // The file usually exists (every start after the first): open it as it is, without the
    // exception an O_EXCL attempt would cost. Only a missing file is created, with our mode.
    try {
      this.fd = openSync(this.path, existing);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    mkdirSync(dirname(this.path), { recursive: true });
    let fd: number;
    try {
      fd = openSync(this.path, excl, 0o640);
      // Created by us: make it 0640 whatever the umask, and owned by the process's user.
      fchmodSync(fd, 0o640);
      if (this.owner) {
        try {
          fchownSync(fd, this.owner.uid, this.owner.gid);
        } catch (e) {
          // A non-root daemon without CAP_CHOWN (setcap cap_setuid,cap_setgid+ep only) keeps
          // the file as its own: the output still reaches it, through the daemon.
          if ((e as NodeJS.ErrnoException).code !== "EPERM") {
            closeSync(fd);
            throw e;
          }
        }
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      fd = openSync(this.path, flags, 0o640);
    }
    this.fd = fd;
  }
}
