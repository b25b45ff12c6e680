import { type FSWatcher, watch } from "node:fs";
import { type FileHandle, open, stat } from "node:fs/promises";

const chunkSize = 64 * 1024;

export interface TailResult {
  /** The last whole lines (each ending in "\n"); a trailing partial line is not included. */
  readonly data: Buffer;
  /** Offset just after the last "\n": where following continues. */
  readonly position: number;
  /** A trailing line without "\n" (written but not finished yet). */
  readonly partial: Buffer;
}

/** Reads the last `lines` lines of a file from its end, in 64 KiB chunks. Missing file: empty. */
export async function readLastLines(path: string, lines: number): Promise<TailResult> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      return { data: Buffer.alloc(0), position: 0, partial: Buffer.alloc(0) };
    }
    throw e;
  }
  try {
    const size = (await fh.stat()).size;
    const chunks: Buffer[] = [];
    let start = size;
    let newlines = 0;
    let end = -1; // offset just after the last "\n"
    // Read backwards until we have lines+1 newlines (or the start of the file).
    while (start > 0) {
      const len = Math.min(chunkSize, start);
      start -= len;
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, start);
      chunks.unshift(buf);
      for (let i = len - 1; i >= 0; i--) {
        if (buf[i] !== 0x0a) continue;
        if (end < 0) end = start + i + 1;
        newlines++;
      }
      if (newlines > lines) break;
    }
    const all = Buffer.concat(chunks);
    const base = start;
    if (end < 0) return { data: Buffer.alloc(0), position: base, partial: all };
    const whole = all.subarray(0, end - base);
    const partial = all.subarray(end - base);
    if (lines <= 0) return { data: Buffer.alloc(0), position: end, partial };
    // Keep the last `lines` lines of `whole`.
    let count = 0;
    let cut = 0;
    for (let i = whole.length - 2; i >= 0; i--) {
      if (whole[i] === 0x0a) {
        count++;
        if (count === lines) {
          cut = i + 1;
          break;
        }
      }
    }
    return { data: Buffer.from(whole.subarray(cut)), position: end, partial: Buffer.from(partial) };
  } finally {
    await fh.close();
  }
}

/**
 * Follows a file from `position` like `tail -F`: emits whole lines as they are written, survives
 * truncation (copytruncate) and rotation (a new file at the path), and waits for a file that
 * does not exist yet. Woken by fs.watch, by `poke()` (the supervisor's output events) and by a
 * slow safety timer.
 */
export class FileFollower {
  private readonly path: string;
  private position: number;
  private ino: number | undefined;
  private pending: Buffer = Buffer.alloc(0);
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  private again = false;
  private closed = false;
  private readonly onLines: (data: Buffer) => void;
  private readonly onError: (e: Error) => void;

  constructor(
    path: string,
    position: number,
    onLines: (data: Buffer) => void,
    onError: (e: Error) => void,
  ) {
    this.path = path;
    this.position = position;
    this.onLines = onLines;
    this.onError = onError;
  }

  async start(): Promise<void> {
    try {
      this.ino = (await stat(this.path)).ino;
    } catch {
      this.ino = undefined;
      this.position = 0;
    }
    this.watchFile();
    this.timer = setInterval(() => this.poke(), 1000);
    this.timer.unref();
    this.poke();
  }

  private watchFile(): void {
    if (this.watcher !== undefined || this.ino === undefined) return;
    try {
      this.watcher = watch(this.path, { persistent: false }, () => this.poke());
      this.watcher.on("error", () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined;
    }
  }

  /** Check the file now. */
  poke(): void {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    this.drain()
      .catch((e: unknown) => this.onError(e instanceof Error ? e : new Error(String(e))))
      .finally(() => {
        this.reading = false;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  private async drain(): Promise<void> {
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(this.path);
    } catch {
      return; // not there (yet, or between rotate and reopen)
    }
    if (this.ino !== undefined && st.ino !== this.ino) {
      // Rotated: finish the old file first is not possible by path; start the new one at 0.
      this.watcher?.close();
      this.watcher = undefined;
      this.position = 0;
      this.pending = Buffer.alloc(0);
    }
    if (this.ino !== st.ino) {
      this.ino = st.ino;
      this.watchFile();
    }
    if (st.size < this.position) {
      this.position = 0; // truncated
      this.pending = Buffer.alloc(0);
    }
    if (st.size === this.position) return;
    const fh = await open(this.path, "r");
    try {
      while (!this.closed) {
        const buf = Buffer.alloc(chunkSize);
        const { bytesRead } = await fh.read(buf, 0, chunkSize, this.position);
        if (bytesRead === 0) break;
        this.position += bytesRead;
        this.emit(buf.subarray(0, bytesRead));
      }
    } finally {
      await fh.close();
    }
  }

  private emit(chunk: Buffer): void {
    const data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const last = data.lastIndexOf(0x0a);
    if (last < 0) {
      this.pending = Buffer.from(data);
      return;
    }
    this.pending = Buffer.from(data.subarray(last + 1));
    if (!this.closed) this.onLines(Buffer.from(data.subarray(0, last + 1)));
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer !== undefined) clearInterval(this.timer);
  }
}
