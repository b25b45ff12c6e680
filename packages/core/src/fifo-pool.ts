import { execFile, execFileSync } from "node:child_process";
import {
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readdirSync,
  statSync,
  unlinkSync,
} from "node:fs";
import { join } from "node:path";

/** Both ends of a fresh pipe: the daemon reads `read`, the child gets `write` as stdout/stderr. */
export interface PipeEnds {
  readonly read: number;
  readonly write: number;
}

/** How many FIFOs one `mkfifo` call makes at most (its argv stays small). */
const batchSize = 256;
/**
 * How many FIFOs one `mkfifo` call makes at least. A refill is a process spawned by the daemon,
 * as costly as starting a managed process: refilling after every take made each restart of a
 * crash loop two spawns. A FIFO waiting in the directory costs an inode and nothing else.
 */
const minBatch = 32;

/**
 * Named pipes made ahead of need, so a child's output reaches the daemon through a real pipe
 * rather than the socketpair Node's `stdio: "pipe"` creates. With a socketpair every small
 * write(2) of the child is a socket buffer of its own (~1 KiB of kernel memory for a 100-byte
 * line): the buffer fills after a few hundred lines and the daemon reads a handful of lines
 * per wake-up. A pipe packs the same writes into 64 KiB, so a chatty child runs at the speed
 * it would have writing to a file (bench/README.md, logs).
 *
 * Node cannot create an anonymous pipe, so `mkfifo` makes them in a private directory (0700),
 * in batches and in the background; `take()` opens both ends and unlinks the name at once,
 * so every run gets a pipe of its own that nothing else can open. The first `take()` finding
 * none makes a batch at once (the daemon's first starts come right after its processes are
 * defined); later batches are made in the background. When none is ready (a burst larger than
 * the reserve, `mkfifo` missing, a read-only state dir) the caller falls back to
 * `stdio: "pipe"`: the pool only ever makes output faster, never decides whether it works.
 */
export class FifoPool {
  private readonly dir: string;
  private readonly ready: string[] = [];
  private target = 0;
  private serial = 0;
  /** The batch `mkfifo` is making in the background, if any (settles after its clean-up). */
  private filling: Promise<void> | undefined;
  private filledOnce = false;
  private disabled = false;
  private closed = false;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Keep `count` pipes ready (made in the background, in batches). */
  want(count: number): void {
    this.target = Math.max(0, Math.floor(count));
    this.fill();
  }

  /** A fresh pipe, or undefined when none is ready (use `stdio: "pipe"` then). */
  take(): PipeEnds | undefined {
    if (this.ready.length === 0 && !this.filledOnce) this.fillNow();
    while (!this.closed) {
      const path = this.ready.pop();
      if (path === undefined) break;
      let read: number | undefined;
      try {
        // The read end first, non-blocking: opening the write end then never blocks.
        read = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
        const write = openSync(path, constants.O_WRONLY);
        unlinkSync(path);
        this.fill();
        return { read, write };
      } catch {
        if (read !== undefined) closeSync(read);
        removeFifo(path);
      }
    }
    this.fill();
    return undefined;
  }

  /** Resolves once the batch `mkfifo` is making in the background (if any) is ready to take. */
  filled(): Promise<void> {
    return this.filling ?? Promise.resolve();
  }

  /** Removes the pipes not taken (after the batch in the making); `take()` returns undefined. */
  async close(): Promise<void> {
    this.closed = true;
    for (const path of this.ready.splice(0)) removeFifo(path);
    await this.filling;
  }

  /** The first batch, synchronously (a few milliseconds, once). */
  private fillNow(): void {
    if (this.disabled || this.closed) return;
    const paths = this.newPaths(Math.min(Math.max(this.target, 2), batchSize));
    if (paths === undefined) return;
    let error: unknown;
    try {
      execFileSync("mkfifo", ["-m", "600", "--", ...paths], { stdio: "ignore", timeout: 10_000 });
    } catch (e) {
      error = e;
    }
    this.settleBatch(paths, error);
  }

  /** A batch is made (or not): its pipes become ready, or are removed. True when ready. */
  private settleBatch(paths: readonly string[], error: unknown): boolean {
    if (this.closed || error) {
      // No mkfifo, or a file system without FIFOs: every child keeps stdio "pipe".
      if (error) this.disabled = true;
      for (const p of paths) removeFifo(p);
      return false;
    }
    this.filledOnce = true;
    this.ready.push(...paths);
    return true;
  }

  /** `count` fresh names in the directory (prepared on first use), or undefined without one. */
  private newPaths(count: number): string[] | undefined {
    if (this.serial === 0 && !this.prepareDir()) return undefined;
    const paths: string[] = [];
    for (let i = 0; i < count; i++) paths.push(join(this.dir, `p${process.pid}-${++this.serial}`));
    return paths;
  }

  /** Refills once fewer than half the target are ready: to the target, `minBatch` at least. */
  private fill(): void {
    if (this.filling || this.disabled || this.closed) return;
    if (this.ready.length >= this.target / 2) return;
    const missing = Math.min(Math.max(this.target - this.ready.length, minBatch), batchSize);
    const paths = this.newPaths(missing);
    if (paths === undefined) return;
    this.filling = new Promise((settled) => {
      execFile("mkfifo", ["-m", "600", "--", ...paths], { timeout: 10_000 }, (error) => {
        this.filling = undefined;
        if (this.settleBatch(paths, error)) this.fill();
        settled();
      });
    });
  }

  /** A private directory, emptied of pipes an earlier daemon left behind. */
  private prepareDir(): boolean {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const st = statSync(this.dir);
      if ((st.mode & 0o077) !== 0 || st.uid !== process.getuid?.()) {
        this.disabled = true;
        return false;
      }
      for (const name of readdirSync(this.dir)) removeFifo(join(this.dir, name));
      return true;
    } catch {
      this.disabled = true;
      return false;
    }
  }
}

/**
 * Removes a FIFO (ENOENT is fine) with unlink, never rm: rm lstats it first, and on Node 20 a
 * stat of a FIFO right before the first load of koffi (sockets, sd_notify) makes the realpath of
 * koffi's pnpm symlink stop early, so its native package is not found.
 */
function removeFifo(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}
