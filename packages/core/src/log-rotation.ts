/**
 * Built-in rotation of a log file (`log_max_size`, `log_max_files`): where the bytes waiting for
 * a file are cut between the full file and the next one (a pure function), and the renames
 * `<path>` → `<path>.1` → `<path>.2` ... that make room for a fresh file.
 *
 * Rotated files are not compressed: gzip would have to run off the event loop after the rename
 * (zlib on the thread pool), keep `.N.gz` numbering apart from files still being compressed,
 * and clean up half-written `.gz` files after a daemon crash. Not worth it here: logrotate
 * (`compress`, with our SIGHUP reopen) does it for those who need it.
 */
import { existsSync, renameSync, unlinkSync } from "node:fs";

/** A sink's rotation settings: the largest size of a file, and how many rotated files are kept. */
export interface LogRotation {
  readonly maxBytes: number;
  readonly maxFiles: number;
}

/** Where the current file stands: its size, and whether its last byte ends a line (or it is empty). */
export interface FileEnd {
  readonly size: number;
  readonly atLineStart: boolean;
}

/** The first `bytes` of the waiting data go to the current file; then it is rotated if `rotate`. */
export interface RotationCut {
  readonly bytes: number;
  readonly rotate: boolean;
}

const newline = 0x0a;

/** The last newline among the first `limit` bytes of `bufs` taken as one; -1 when none. */
function lastNewlineBefore(bufs: readonly Buffer[], limit: number): number {
  let start = 0;
  let found = -1;
  for (const b of bufs) {
    if (start >= limit) break;
    const end = Math.min(b.length, limit - start);
    if (end > 0) {
      const i = b.lastIndexOf(newline, end - 1);
      if (i >= 0) found = start + i;
    }
    start += b.length;
  }
  return found;
}

/** The first newline of `bufs` taken as one; -1 when none. */
function firstNewline(bufs: readonly Buffer[]): number {
  let start = 0;
  for (const b of bufs) {
    const i = b.indexOf(newline);
    if (i >= 0) return start + i;
    start += b.length;
  }
  return -1;
}

/**
 * How much of `bufs` (the bytes waiting, in order) the current file takes before it is rotated.
 * Everything when it fits under `maxBytes`. Otherwise the file is cut after the last newline that
 * keeps it within the limit; with none, it is rotated before these bytes when it ends a line,
 * else (a line already begun in it, or a line longer than the limit in an empty file) it takes
 * that line whole, past the limit, and is rotated after it. A line is never split across files.
 */
export function rotationCut(bufs: readonly Buffer[], file: FileEnd, maxBytes: number): RotationCut {
  let total = 0;
  for (const b of bufs) total += b.length;
  if (file.size + total <= maxBytes) return { bytes: total, rotate: false };
  const room = maxBytes - file.size;
  const last = room > 0 ? lastNewlineBefore(bufs, room) : -1;
  if (last >= 0) return { bytes: last + 1, rotate: true };
  if (file.atLineStart && file.size > 0) return { bytes: 0, rotate: true };
  const end = firstNewline(bufs);
  return end < 0 ? { bytes: total, rotate: false } : { bytes: end + 1, rotate: true };
}

/**
 * Makes room for `<path>.1`: `<path>.N` (N = maxFiles) is deleted, `.N-1` → `.N` ... `.1` → `.2`,
 * then `<path>` → `<path>.1`. Only the run of existing files from `.1` up is shifted (a gap stops
 * it); files past `maxFiles` in that run (maxFiles lowered) are deleted. Synchronous: renames
 * are cheap, and doing them between two writes keeps the order of the bytes.
 */
export function shiftRotated(path: string, maxFiles: number): void {
  let count = 0;
  while (existsSync(`${path}.${count + 1}`)) count++;
  for (let i = count; i >= maxFiles; i--) unlinkSync(`${path}.${i}`);
  for (let i = Math.min(count, maxFiles - 1); i >= 1; i--) {
    renameSync(`${path}.${i}`, `${path}.${i + 1}`);
  }
  renameSync(path, `${path}.1`);
}
