import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  mkdirSync,
  openSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";

const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;
const excl = flags | constants.O_EXCL;

/**
 * An append-only log file the supervisor writes child output to, synchronously (a chunk is
 * on disk, in order, before the next is read; nothing is dropped). Reopened for logrotate.
 */
export class LogSink {
  readonly path: string;
  private fd: number | null = null;
  private refs = 0;
  private owner: { uid: number; gid: number } | undefined;

  constructor(path: string) {
    this.path = path;
  }

  /** Take a reference (one per pipe or hook stream); opens the file on the first one. */
  acquire(owner: { uid: number; gid: number } | undefined): void {
    if (owner) this.owner = owner;
    if (this.fd === null) this.open();
    this.refs++;
  }

  release(): void {
    if (this.refs > 0) this.refs--;
    if (this.refs === 0) this.close();
  }

  get isOpen(): boolean {
    return this.fd !== null;
  }

  write(chunk: Buffer): void {
    const fd = this.fd;
    if (fd === null) return;
    let off = 0;
    while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
  }

  writeLine(text: string): void {
    this.write(Buffer.from(`${text}\n`));
  }

  reopen(): void {
    if (this.fd === null) return;
    this.close();
    this.open();
  }

  close(): void {
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      closeSync(fd);
    }
  }

  private open(): void {
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
