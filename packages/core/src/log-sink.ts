import { closeSync, fstatSync, writeSync, writev } from "node:fs";
import { LogFailure, retryMs } from "./log-failure.js";
import { createLogFile, openLogFile } from "./log-file.js";
import { type LogRotation, type RotationCut, rotationCut, shiftRotated } from "./log-rotation.js";
import type { OutputSink } from "./managed.js";

/**
 * Chunks up to this size are written at once when nothing waits: a line, and a whole read of a
 * pipe (libuv reads 64 KiB at most).
 */
const syncWriteMax = 64 * 1024;
/** Above this many queued bytes `write` asks the reader to pause; it resumes below `lowWater`. */
const highWater = 8 * 1024 * 1024;
const lowWater = 1024 * 1024;
/** With a rotation, the beginning of a line waits this long at most for its end (log-rotation.ts). */
const heldMaxMs = 1000;

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
 *
 * With a rotation (`log_max_size`), the sink keeps the file's size and whether it ends a line;
 * before a write would take it past the limit, what fits up to the last newline is written, the
 * file is renamed `<path>.1` (older ones shifted, the oldest deleted) and a fresh one opened with
 * the old one's mode and owner: all synchronously between two writes, in the order of the
 * bytes, so nothing is lost or reordered and no line is split (log-rotation.ts says where the
 * cut falls). Queued bytes are cut the same way: a `writev` never spans two files. A file that
 * cannot be opened or written (disk full) never pauses the child: log-failure.ts.
 */
export class LogSink implements OutputSink {
  readonly path: string;
  private fd: number | null = null;
  private refs = 0;
  private owner: { uid: number; gid: number } | undefined;
  private readonly onError: ((error: Error) => void) | undefined;
  private readonly onRecovered: ((message: string) => void) | undefined;
  /** The file cannot be written for now (log-failure.ts): output waits in memory. */
  private failure: LogFailure | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private queue: Buffer[] = [];
  private queued = 0;
  private writing = false;
  private reopenPending = false;
  private rotation: LogRotation | undefined;
  /** A rotation failed (reported): the file grows past the limit until `reopen()` or new settings. */
  private rotationFailed = false;
  /** The current file's size (at open, then what we wrote) and whether its last byte is "\n". */
  private size = 0;
  private atLineStart = true;
  /**
   * With a rotation: the beginning of a line whose end has not arrived yet (a copy), written
   * with its end, at `close()`, or after `heldMaxMs`; whether what was accepted ends a line.
   */
  private held: Buffer | null = null;
  private heldTimer: NodeJS.Timeout | undefined;
  private acceptedEndsLine = true;
  private closePending = false;
  /** Bytes accepted by `write` and bytes since written (or dropped by a failed write). */
  private accepted = 0;
  private done = 0;
  private flushWaiters: { until: number; resolve: () => void }[] = [];
  private drainWaiters: (() => void)[] = [];

  /**
   * `onError`: the file cannot be opened or written (the output waits in memory and the file is
   * tried again every second: log-failure.ts), or a rotation failed (the output goes on into
   * the current file). `onRecovered`: the file is written again.
   */
  constructor(
    path: string,
    onError?: (error: Error) => void,
    onRecovered?: (message: string) => void,
  ) {
    this.path = path;
    this.onError = onError;
    this.onRecovered = onRecovered;
  }

  /** Rotate past `maxBytes` (undefined: never); applies from the next write. */
  setRotation(rotation: LogRotation | undefined): void {
    if (rotation === undefined) this.writeHeld();
    if (
      rotation?.maxBytes !== this.rotation?.maxBytes ||
      rotation?.maxFiles !== this.rotation?.maxFiles
    ) {
      this.rotation = rotation;
      this.rotationFailed = false;
    }
  }

  /** Take a reference (one per pipe or hook stream); opens the file on the first one. */
  acquire(owner: { uid: number; gid: number } | undefined): void {
    if (owner) this.owner = owner;
    this.closePending = false;
    if (this.fd === null && this.failure === undefined) {
      try {
        this.open();
      } catch (e) {
        this.fail(e as Error);
      }
    }
    this.refs++;
  }

  /** Drop a reference; the file closes on the last one, once what is queued is written. */
  release(): void {
    if (this.refs > 0) this.refs--;
    if (this.refs === 0) this.close();
  }

  get isOpen(): boolean {
    return this.fd !== null || this.failure !== undefined;
  }

  /**
   * Append a chunk. Returns false when the queue is
   * past its high-water mark: pause the source until `drained()`. The chunk is not kept: what
   * is not written at once is queued as a copy (callers pass views of a reused read buffer).
   */
  write(chunk: Buffer): boolean {
    if (chunk.length === 0 || !this.isOpen) return true;
    const rotation = this.rotation;
    if (rotation === undefined || this.rotationFailed) {
      const more = this.writeHeld();
      return this.writeData(chunk) && more;
    }
    let more = true;
    let start = 0;
    const held = this.held;
    if (held !== null) {
      const nl = chunk.indexOf(0x0a);
      if (nl < 0) {
        this.held = Buffer.concat([held, chunk]);
        // Longer than a file may be: a long line, written as it comes, whole in one file.
        return this.held.length > rotation.maxBytes ? this.writeHeld() : true;
      }
      this.clearHeld();
      more = this.writeData(Buffer.concat([held, chunk.subarray(0, nl + 1)]));
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(0x0a);
    const end = last >= start ? last + 1 : start;
    // A tail that begins a line is held until its end arrives (when it begins one already in
    // the file, or is longer than a file may be, it is written at once).
    const holdTail =
      end < chunk.length &&
      (end > 0 || this.acceptedEndsLine) &&
      chunk.length - end <= rotation.maxBytes;
    const upTo = holdTail ? end : chunk.length;
    if (upTo > start) more = this.writeData(chunk.subarray(start, upTo)) && more;
    if (holdTail) {
      this.held = Buffer.from(chunk.subarray(end));
      this.heldTimer = setTimeout(() => this.writeHeld(), heldMaxMs);
      this.heldTimer.unref();
    }
    return more;
  }

  /** Writes the beginning of a line held back (its end has not come within a second, or the
   * file is closing); it then ends this file, past the limit if its end makes it longer. */
  private writeHeld(): boolean {
    const held = this.held;
    if (held === null) return true;
    this.clearHeld();
    return this.writeData(held);
  }

  private clearHeld(): void {
    this.held = null;
    if (this.heldTimer !== undefined) clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
  }

  /** Appends `chunk` to the file now, or to the queue (cut for rotation on the way). */
  private writeData(chunk: Buffer): boolean {
    if (this.failure !== undefined) {
      this.failure.add(chunk);
      return true;
    }
    const fd = this.fd;
    if (fd === null || chunk.length === 0) return true;
    this.acceptedEndsLine = chunk[chunk.length - 1] === 0x0a;
    if (!this.writing && this.queue.length === 0 && chunk.length <= syncWriteMax) {
      let rest = chunk;
      for (;;) {
        const cut = this.cutOf([rest]);
        if (cut.bytes > 0) {
          const unwritten = this.writeNow(rest.subarray(0, cut.bytes));
          if (unwritten !== undefined) {
            this.hold(unwritten, rest.subarray(cut.bytes));
            return true;
          }
          rest = rest.subarray(cut.bytes);
        }
        if (cut.rotate) this.rotate();
        if (rest.length === 0) return true;
      }
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
    if (this.failure !== undefined) {
      this.retry();
      return;
    }
    if (this.fd === null) return;
    if (this.writing) {
      this.reopenPending = true;
      return;
    }
    this.rotationFailed = false;
    this.closeFd();
    this.open();
  }

  close(): void {
    this.writeHeld();
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
      this.rotationFailed = false;
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
    if (this.fd === null || this.queue.length === 0) {
      this.advance(this.queued);
      this.queue = [];
      this.queued = 0;
      this.settled();
      return;
    }
    let cut = this.cutOf(this.queue);
    while (cut.bytes === 0 && cut.rotate) {
      this.rotate();
      cut = this.cutOf(this.queue);
    }
    const fd = this.fd;
    const bufs = this.take(cut.bytes);
    const length = cut.bytes;
    this.writing = true;
    writev(fd, bufs, (error, written) => {
      this.writing = false;
      if (error) {
        // Counted as settled (nothing waits on a failing disk); kept to be written later.
        this.advance(length);
        this.fail(error);
        const rest = this.queued;
        this.hold(...bufs, ...this.take(rest));
        this.advance(rest);
      } else {
        if (written < length) this.requeueTail(bufs, written);
        this.wrote(bufs, Math.min(written, length));
        this.advance(Math.min(written, length));
      }
      if (this.queued < lowWater) for (const w of this.drainWaiters.splice(0)) w();
      this.flush();
    });
  }

  /** Removes the first `bytes` of the queue (cutting a chunk when the cut falls inside it). */
  private take(bytes: number): Buffer[] {
    if (bytes === this.queued) {
      const all = this.queue;
      this.queue = [];
      this.queued = 0;
      return all;
    }
    const out: Buffer[] = [];
    let left = bytes;
    while (left > 0) {
      const b = this.queue[0] as Buffer;
      if (b.length <= left) {
        out.push(b);
        this.queue.shift();
        left -= b.length;
      } else {
        out.push(b.subarray(0, left));
        this.queue[0] = b.subarray(left);
        left = 0;
      }
    }
    this.queued -= bytes;
    return out;
  }

  /** Where the bytes waiting (`bufs`) are cut for a rotation; all of them without one. */
  private cutOf(bufs: readonly Buffer[]): RotationCut {
    const rotation = this.rotation;
    if (rotation === undefined || this.rotationFailed) {
      let total = 0;
      for (const b of bufs) total += b.length;
      return { bytes: total, rotate: false };
    }
    return rotationCut(bufs, { size: this.size, atLineStart: this.atLineStart }, rotation.maxBytes);
  }

  /**
   * One synchronous write of all of `data` to the current file. On an error (the failure then
   * begins) returns what was not written.
   */
  private writeNow(data: Buffer): Buffer | undefined {
    const fd = this.fd as number;
    let off = 0;
    try {
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    } catch (e) {
      this.fail(e as Error);
      if (off > 0) this.wrote([data], off);
      return data.subarray(off);
    }
    this.wrote([data], data.length);
    return undefined;
  }

  /** Keeps chunks for later while the file fails (a method: TS narrows `failure` otherwise). */
  private hold(...chunks: Buffer[]): void {
    for (const c of chunks) this.failure?.add(c);
  }

  /** The file cannot be written: output waits in memory (said once), tried again each second. */
  private fail(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = new LogFailure(error);
    if (this.retryTimer !== undefined) return; // failed again while retrying: said already
    this.onError?.(
      new Error(
        `${error.message} (the output waits in memory, up to 8 MiB, and the file is tried again every second)`,
        { cause: error },
      ),
    );
    this.retryTimer = setInterval(() => this.retry(), retryMs);
    this.retryTimer.unref();
  }

  /** Writes what waited (then where output was lost, if it was); stops retrying once it could. */
  private retry(): void {
    const failure = this.failure;
    if (failure === undefined || this.writing) return;
    if (this.fd === null) {
      try {
        this.open();
      } catch {
        return;
      }
    }
    this.failure = undefined;
    for (const b of failure.take()) this.writeData(b);
    const again = this.failure as LogFailure | undefined;
    if (again !== undefined) {
      again.dropped += failure.dropped;
      return;
    }
    const lost = failure.lostLine(this.path);
    if (lost !== undefined) this.writeData(lost);
    clearInterval(this.retryTimer);
    this.retryTimer = undefined;
    const gap = failure.dropped > 0 ? `; ${failure.dropped} bytes were lost meanwhile` : "";
    this.onRecovered?.(`writing ${this.path} again${gap}`);
    if (this.refs === 0) this.close();
  }

  /** The first `written` bytes of `bufs` reached the current file. */
  private wrote(bufs: readonly Buffer[], written: number): void {
    if (written <= 0) return;
    this.size += written;
    let left = written;
    for (const b of bufs) {
      if (left <= b.length) {
        this.atLineStart = b[left - 1] === 0x0a;
        return;
      }
      left -= b.length;
    }
  }

  /**
   * The current file becomes `<path>.1` (older ones shifted) and a fresh file, with its mode and
   * owner, takes its place. On failure (reported) the output goes on into the current file.
   */
  private rotate(): void {
    const fd = this.fd;
    const rotation = this.rotation;
    if (fd === null || rotation === undefined) return;
    try {
      const st = fstatSync(fd);
      shiftRotated(this.path, rotation.maxFiles);
      this.fd = createLogFile(this.path, st.mode & 0o7777, { uid: st.uid, gid: st.gid });
      closeSync(fd);
      this.size = 0;
      this.atLineStart = true;
    } catch (e) {
      this.rotationFailed = true;
      this.onError?.(
        new Error(
          `cannot rotate the file (writing on past log_max_size until a reopen): ${(e as Error).message}`,
          { cause: e },
        ),
      );
    }
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
    this.fd = openLogFile(this.path, this.owner);
    // What is already there is taken as whole lines (a previous run's, or before a reopen).
    this.size = fstatSync(this.fd).size;
    this.atLineStart = true;
  }
}
