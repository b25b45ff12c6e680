/**
 * Writing to systemd-journald through its native protocol (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/):
 * one datagram per entry on the unix datagram socket `/run/systemd/journal/socket`, each field
 * `KEY=value\n`, or, for a value with a newline or a binary one, `KEY\n`, its length as a 64-bit
 * little-endian integer, the bytes and `\n`. Field names are A-Z, 0-9 and `_`, do not start with
 * `_` (trusted fields, journald adds them) nor with a digit, at most 64 characters.
 *
 * Too large for a datagram: the protocol then passes the entry in a sealed memfd (SCM_RIGHTS).
 * That is not implemented here: an entry over {@link journalDatagramMax} has its MESSAGE cut,
 * with a marker saying how long it was (a daemon's log line is never near that size).
 */
import { PlatformError } from "./errors.js";
import {
  AF_UNIX,
  callError,
  encodeUnixAddress,
  type Libc,
  loadLibc,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  POLLOUT,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  sendDatagram,
  sendHint,
} from "./libc.js";

/** journald's socket for native entries. */
export const journalSocketPath = "/run/systemd/journal/socket";

/**
 * The largest entry sent as a datagram: a unix datagram must fit in the sender's SO_SNDBUF
 * (net.core.wmem_default, 208 KiB by default) less some overhead.
 */
export const journalDatagramMax = 128 * 1024;

export type JournalFields = Readonly<Record<string, string | Buffer>>;

const fieldNamePattern = /^[A-Z][A-Z0-9_]{0,63}$/;
const newline = 0x0a;

/** Whether journald accepts `name` as a field name sent by a client. */
export function isJournalFieldName(name: string): boolean {
  return fieldNamePattern.test(name);
}

/** One journal entry in the native protocol's encoding; throws "journal-field" for a bad name. */
export function journalEntry(fields: JournalFields): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (!isJournalFieldName(name)) {
      throw new PlatformError(
        "journal-field",
        `journal field ${JSON.stringify(name)}: expected A-Z, 0-9 and "_", not starting with "_" or a digit, at most 64 characters`,
      );
    }
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
    if (typeof value === "string" && !bytes.includes(newline)) {
      parts.push(Buffer.from(`${name}=`, "utf8"), bytes, Buffer.from("\n"));
    } else {
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(bytes.length));
      parts.push(Buffer.from(`${name}\n`, "utf8"), length, bytes, Buffer.from("\n"));
    }
  }
  return Buffer.concat(parts);
}

/**
 * Decodes a native-protocol entry (the inverse of {@link journalEntry}); a field given twice
 * keeps its last value. Throws "journal-field" on malformed input.
 */
export function parseJournalEntry(data: Buffer): Record<string, Buffer> {
  const fields: Record<string, Buffer> = {};
  let at = 0;
  const malformed = (why: string) =>
    new PlatformError("journal-field", `journal entry: ${why} at byte ${at}`);
  while (at < data.length) {
    const eol = data.indexOf(newline, at);
    if (eol < 0) throw malformed("no newline after a field");
    const line = data.subarray(at, eol);
    const eq = line.indexOf(0x3d);
    if (eq >= 0) {
      fields[line.subarray(0, eq).toString("utf8")] = Buffer.from(line.subarray(eq + 1));
      at = eol + 1;
      continue;
    }
    const name = line.toString("utf8");
    if (eol + 9 > data.length) throw malformed(`no length for ${name}`);
    const length = Number(data.readBigUInt64LE(eol + 1));
    const start = eol + 9;
    if (start + length + 1 > data.length || data[start + length] !== newline) {
      throw malformed(`bad length ${length} for ${name}`);
    }
    fields[name] = Buffer.from(data.subarray(start, start + length));
    at = start + length + 1;
  }
  return fields;
}

/**
 * {@link journalEntry}, with MESSAGE cut (and marked) when the entry is over `maxBytes`.
 * Only MESSAGE is cut: an entry whose other fields alone are too large stays too large (the
 * send then fails with EMSGSIZE).
 */
export function boundedJournalEntry(fields: JournalFields, maxBytes = journalDatagramMax): Buffer {
  const entry = journalEntry(fields);
  const message = fields.MESSAGE;
  if (entry.length <= maxBytes || message === undefined) return entry;
  const bytes = typeof message === "string" ? Buffer.from(message, "utf8") : message;
  const marker = Buffer.from(
    ` [message cut: ${bytes.length} bytes are more than a journal datagram holds]`,
    "utf8",
  );
  // The framed form of MESSAGE costs at most 10 bytes more than `MESSAGE=`.
  const keep = Math.max(0, bytes.length - (entry.length - maxBytes) - marker.length - 10);
  // Not in the middle of a UTF-8 sequence: back up over continuation bytes.
  let cut = keep;
  while (cut > 0 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut--;
  return journalEntry({ ...fields, MESSAGE: Buffer.concat([bytes.subarray(0, cut), marker]) });
}

/**
 * Sends one entry to journald (or to the native-protocol socket at `socketPath`), without
 * waiting: a full queue fails with EAGAIN.
 */
export async function sendJournal(
  fields: JournalFields,
  socketPath: string = journalSocketPath,
): Promise<void> {
  await sendDatagram(socketPath, boundedJournalEntry(fields), "journal socket");
}

/** A socket kept open to send journal entries synchronously (for a logger). */
export interface JournalSender {
  readonly path: string;
  /**
   * Sends one entry without blocking; throws a PlatformError ("socket-call", with `errno`:
   * ENOENT or ECONNREFUSED when journald is not there, EAGAIN when its queue is full).
   */
  send(fields: JournalFields): void;
  /**
   * Sends an entry already encoded ({@link journalEntry}) as it is, failing as `send` does (and
   * with EMSGSIZE when it is over the datagram size).
   */
  sendEntry(entry: Buffer): void;
  /**
   * Resolves when journald's queue has room again (after a send failed with EAGAIN), or after
   * `timeoutMs` at most. Waits on libuv's thread pool, never on the event loop.
   */
  writable(timeoutMs?: number): Promise<void>;
  /** Closes the socket; idempotent. */
  close(): void;
}

/** Opens a datagram socket to send entries to `socketPath` (nothing is sent yet). */
export async function openJournalSender(
  socketPath: string = journalSocketPath,
  maxBytes: number = journalDatagramMax,
): Promise<JournalSender> {
  const what = "journal socket";
  const addr = encodeUnixAddress(socketPath, what);
  const libc = await loadLibc();
  const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw callError(libc, "socket", what, socketPath, libc.koffi.errno());
  return new Sender(libc, fd, socketPath, addr, maxBytes);
}

class Sender implements JournalSender {
  readonly path: string;
  readonly #libc: Libc;
  readonly #addr: Buffer;
  readonly #maxBytes: number;
  #fd: number | undefined;
  /** The connected socket `writable()` polls (made at the first wait). */
  #waiter: number | undefined;
  #waiting: Promise<void> | undefined;

  constructor(libc: Libc, fd: number, path: string, addr: Buffer, maxBytes: number) {
    this.#libc = libc;
    this.#fd = fd;
    this.path = path;
    this.#addr = addr;
    this.#maxBytes = maxBytes;
  }

  send(fields: JournalFields): void {
    this.sendEntry(boundedJournalEntry(fields, this.#maxBytes));
  }

  sendEntry(data: Buffer): void {
    const libc = this.#libc;
    const what = "journal socket";
    if (this.#fd === undefined) {
      throw new PlatformError("socket-call", `${what} ${this.path}: the sender is closed`);
    }
    const flags = MSG_DONTWAIT | MSG_NOSIGNAL;
    const n = Number(
      libc.sendto(this.#fd, data, data.length, flags, this.#addr, this.#addr.length),
    );
    if (n < 0) {
      const errno = libc.koffi.errno();
      throw callError(libc, "sendto", what, this.path, errno, sendHint(libc.errnoName(errno)));
    }
  }

  /**
   * A datagram sender cannot poll for room in the receiver's queue (its own socket is always
   * writable); a socket connected to the receiver can: unix_dgram_poll reports POLLOUT only
   * while the peer's queue has room (net.unix.max_dgram_qlen, 10 by default, fills at once
   * under load). So one connected socket, used only to wait, polled on the thread pool; where it
   * cannot connect, a short sleep instead. One wait at a time, shared by every caller.
   */
  writable(timeoutMs = 1000): Promise<void> {
    this.#waiting ??= this.#waitForRoom(timeoutMs).finally(() => {
      this.#waiting = undefined;
    });
    return this.#waiting;
  }

  async #waitForRoom(timeoutMs: number): Promise<void> {
    const libc = this.#libc;
    if (this.#waiter === undefined && this.#fd !== undefined) {
      const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd >= 0 && libc.connect(fd, this.#addr, this.#addr.length) === 0) this.#waiter = fd;
      else if (fd >= 0) libc.close(fd);
    }
    const waiter = this.#waiter;
    if (waiter === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      return;
    }
    const pollfd = Buffer.alloc(8);
    pollfd.writeInt32LE(waiter, 0);
    pollfd.writeInt16LE(POLLOUT, 4);
    const result = await new Promise<number>((resolve) =>
      libc.pollOffThread(pollfd, 1, timeoutMs, (error, n) => resolve(error ? -1 : n)),
    );
    // POLLERR/POLLHUP: journald's socket went away; the next send says how.
    if (result > 0 && (pollfd.readInt16LE(6) & POLLOUT) === 0) this.#closeWaiter();
  }

  #closeWaiter(): void {
    if (this.#waiter === undefined) return;
    this.#libc.close(this.#waiter);
    this.#waiter = undefined;
  }

  close(): void {
    this.#closeWaiter();
    if (this.#fd === undefined) return;
    this.#libc.close(this.#fd);
    this.#fd = undefined;
  }
}
