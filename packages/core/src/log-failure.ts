/**
 * A log file that cannot be written for now (disk full, read-only, its directory gone, no
 * permission): what the process writes meanwhile is kept in memory, in order, up to a bound, and
 * written when the file can be again; past the bound it is counted, and the count is written
 * into the file then (`[procmgr] N bytes ... lost`). The process is never paused by a failing
 * disk: a service that blocks on its stdout because the log disk filled up is worse than a gap
 * in its log, and the gap is marked where it is.
 */

/** Bytes of output kept in memory while a file cannot be written. */
export const backlogMax = 8 * 1024 * 1024;
/** How often the file is tried again. */
export const retryMs = 1000;

export class LogFailure {
  /** The first error (reported when the failure began). */
  readonly error: Error;
  private items: Buffer[] = [];
  private bytes = 0;
  /** Bytes past the bound: not kept. */
  dropped = 0;

  constructor(error: Error, dropped = 0) {
    this.error = error;
    this.dropped = dropped;
  }

  /** Keeps a copy of `chunk` (the caller's buffer may be reused), or counts it past the bound. */
  add(chunk: Buffer): void {
    if (this.bytes + chunk.length > backlogMax) {
      this.dropped += chunk.length;
      return;
    }
    this.items.push(Buffer.from(chunk));
    this.bytes += chunk.length;
  }

  /** What was kept, oldest first (the failure keeps nothing after). */
  take(): Buffer[] {
    const items = this.items;
    this.items = [];
    this.bytes = 0;
    return items;
  }

  /** The line written into the file where output was lost, if any was. */
  lostLine(path: string): Buffer | undefined {
    if (this.dropped === 0) return undefined;
    const code = (this.error as NodeJS.ErrnoException).code ?? this.error.message;
    return Buffer.from(
      `[procmgr] ${this.dropped} bytes of output lost here: ${path} could not be written (${code}) and more than ${backlogMax} bytes waited\n`,
    );
  }
}
