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
  align,
  callError,
  encodeUnixAddress,
  type Libc,
  loadLibc,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  SO_SNDTIMEO,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOL_SOCKET,
  sendDatagram,
  sendHint,
  writePointer,
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
   * Sends entries already encoded, in order, waiting for room in journald's queue as long as it
   * takes (on libuv's thread pool, never on the event loop). Resolves with how many were sent:
   * all, or fewer when journald took none for a second (send the rest again), or fewer and
   * `error` when the next one cannot be sent (as `send` fails: journald gone).
   */
  sendEntries(entries: readonly Buffer[]): Promise<{ sent: number; error?: PlatformError }>;
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
  /** The blocking socket batches are sent on (made at the first batch). */
  #blocking: number | undefined;

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
   * One sendmmsg(2) for the whole batch on a blocking socket with a 1 s send timeout, run on the
   * thread pool: the kernel waits for room in journald's queue between two datagrams (the queue
   * holds net.unix.max_dgram_qlen of them, 10 by default, full at once under load), so nothing
   * waits on a wake-up of the event loop per few entries, and nothing polls.
   */
  async sendEntries(entries: readonly Buffer[]): Promise<{ sent: number; error?: PlatformError }> {
    if (entries.length === 0) return { sent: 0 };
    const libc = this.#libc;
    const fd = this.#blockingFd();
    const { koffi, msghdr, sizeT } = libc;
    const mmsgSize = align(msghdr.size + 4, sizeT);
    const addrOffset = 0;
    const mmsgOffset = align(this.#addr.length, 16);
    const iovOffset = mmsgOffset + entries.length * mmsgSize;
    let dataOffset = iovOffset + entries.length * 2 * sizeT;
    const total = dataOffset + entries.reduce((n, e) => n + e.length, 0);
    const mem = koffi.alloc("uint8_t", total) as bigint;
    try {
      const view = Buffer.from(koffi.view(mem, total));
      view.fill(0, 0, dataOffset);
      this.#addr.copy(view, addrOffset);
      entries.forEach((entry, i) => {
        const m = mmsgOffset + i * mmsgSize;
        const iov = iovOffset + i * 2 * sizeT;
        writePointer(view, m, mem + BigInt(addrOffset), sizeT);
        view.writeUInt32LE(this.#addr.length, m + sizeT);
        writePointer(view, m + msghdr.iovOffset, mem + BigInt(iov), sizeT);
        writePointer(view, m + msghdr.iovLenOffset, 1n, sizeT);
        writePointer(view, iov, mem + BigInt(dataOffset), sizeT);
        writePointer(view, iov + sizeT, BigInt(entry.length), sizeT);
        entry.copy(view, dataOffset);
        dataOffset += entry.length;
      });
      const sent = await new Promise<number>((resolve) =>
        libc.sendmmsgOffThread(fd, mem + BigInt(mmsgOffset), entries.length, MSG_NOSIGNAL, (e, n) =>
          resolve(e ? -1 : Number(n)),
        ),
      );
      if (sent === entries.length) return { sent };
      // Why the next one was not sent (errno does not come back from the thread): try it here.
      const done = Math.max(sent, 0);
      try {
        this.sendEntry(entries[done] as Buffer);
      } catch (e) {
        if (!(e instanceof PlatformError)) throw e;
        return e.errno === "EAGAIN" ? { sent: done } : { sent: done, error: e };
      }
      return { sent: done + 1 };
    } finally {
      koffi.free(mem);
    }
  }

  /** The blocking socket of `sendEntries` (SO_SNDTIMEO 1 s), made at the first batch. */
  #blockingFd(): number {
    if (this.#blocking !== undefined) return this.#blocking;
    const libc = this.#libc;
    const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw callError(libc, "socket", "journal socket", this.path, libc.koffi.errno());
    const timeout = Buffer.alloc(16);
    timeout.writeBigInt64LE(1n, 0); // struct timeval { 1 s, 0 µs }
    if (libc.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, timeout, 16) !== 0) {
      const errno = libc.koffi.errno();
      libc.close(fd);
      throw callError(libc, "setsockopt(SO_SNDTIMEO)", "journal socket", this.path, errno);
    }
    this.#blocking = fd;
    return fd;
  }

  close(): void {
    if (this.#blocking !== undefined) this.#libc.close(this.#blocking);
    this.#blocking = undefined;
    if (this.#fd === undefined) return;
    this.#libc.close(this.#fd);
    this.#fd = undefined;
  }
}
