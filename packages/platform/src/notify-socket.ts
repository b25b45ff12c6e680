/**
 * The sd_notify(3) protocol, both ends: the socket on which the daemon receives the messages of
 * the processes it supervises (their `$NOTIFY_SOCKET`), and a sender.
 *
 * A message is one unix datagram of newline-separated `KEY=VALUE` lines (READY=1, STATUS=...,
 * MAINPID=..., RELOADING=1, STOPPING=1, WATCHDOG=1, EXTEND_TIMEOUT_USEC=..., ERRNO=...). As
 * systemd does, the receiver sets SO_PASSCRED so that every datagram carries the sender's
 * pid/uid/gid, vouched for by the kernel: who may say what is decided on those, not on the
 * socket's permissions. The socket itself goes through libc over FFI (see unix-datagram.ts).
 */
import { PlatformError } from "./errors.js";
import { sendDatagram } from "./libc.js";
import { openDatagramReceiver, type ReceivedDatagram } from "./unix-datagram.js";

/** Largest datagram accepted, as systemd's NOTIFY_BUFFER_MAX; longer ones are dropped. */
export const notifyBufferMax = 4096;

/** One accepted message and who sent it. */
export interface NotifyMessage {
  /** The sender's pid, uid and gid (SCM_CREDENTIALS). */
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  /** {@link parseNotifyMessage} of `raw`. */
  readonly fields: ReadonlyMap<string, string>;
  /** The datagram as text. */
  readonly raw: string;
}

/** Why a datagram was not handed out as a message. */
export type NotifyDropReason =
  | "too-long" // over notifyBufferMax bytes (MSG_TRUNC)
  | "no-credentials" // no SCM_CREDENTIALS came with it
  | "empty" // zero bytes
  | "nul-byte" // a NUL byte in the text (systemd refuses those too)
  | "not-utf8"; // bytes that are not UTF-8

export interface NotifyDrop {
  readonly reason: NotifyDropReason;
  /** A sentence for a log line: what was received and why it was dropped. */
  readonly message: string;
  /** The datagram's size in bytes. */
  readonly size: number;
  /** The sender, when the datagram had credentials. */
  readonly pid: number | undefined;
  readonly uid: number | undefined;
}

export interface NotifySocketOptions {
  /** Called for each datagram dropped (not called after close). */
  readonly onDrop?: (drop: NotifyDrop) => void;
  /**
   * Receiving failed for good (recvmsg returned an error that is not transient): the socket is
   * closed. Without this callback the error is thrown (an unhandled rejection).
   */
  readonly onError?: (error: PlatformError) => void;
  /** SO_RCVBUF (SO_RCVBUFFORCE when privileged); default 1 MiB. */
  readonly receiveBufferBytes?: number;
}

export interface NotifySocket {
  /** The path bound (what children get in `NOTIFY_SOCKET`). */
  readonly path: string;
  /**
   * Stops receiving, closes the socket and removes its file (when it is still ours); idempotent.
   * No callback fires once called; when it resolves nothing of the socket is left.
   */
  close(): Promise<void>;
}

/**
 * Parses the text of an sd_notify datagram: one `KEY=VALUE` per line; empty lines, lines without
 * `=` and lines with an empty key are ignored; a key assigned twice keeps its last value.
 */
export function parseNotifyMessage(text: string): ReadonlyMap<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return fields;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Binds the notify socket at `path` (an absolute path, or `@name` in the abstract namespace) and
 * calls `onMessage` for every message received with its sender's credentials. A stale socket at
 * `path` is replaced; the file is made mode 0666 (any process may send: the credentials decide
 * whose message it is). Datagrams over {@link notifyBufferMax} bytes, without credentials, empty,
 * with NUL bytes or not UTF-8 are dropped (`onDrop`); file descriptors sent along (SCM_RIGHTS)
 * are closed.
 *
 * Receiving is signal-driven (SIGIO) and holds no thread, however many sockets are open; it works
 * on the main thread only (in a worker thread this rejects with `main-thread-only`). An open
 * socket keeps the process alive (see unix-datagram.ts).
 */
export async function openNotifySocket(
  path: string,
  onMessage: (message: NotifyMessage) => void,
  options: NotifySocketOptions = {},
): Promise<NotifySocket> {
  const receiveBufferBytes = options.receiveBufferBytes ?? 1024 * 1024;
  if (!Number.isInteger(receiveBufferBytes) || receiveBufferBytes <= 0) {
    throw new PlatformError(
      "invalid-option",
      `notify socket ${path}: receiveBufferBytes ${receiveBufferBytes}: expected a positive integer`,
    );
  }
  const receiver = await openDatagramReceiver(path, {
    what: "notify socket",
    maxDatagramBytes: notifyBufferMax,
    receiveBufferBytes,
    mode: 0o666,
    onDatagram: (datagram) => {
      const accepted = acceptDatagram(datagram);
      if ("reason" in accepted) options.onDrop?.(accepted);
      else onMessage(accepted);
    },
    onFailure: (error) => {
      if (options.onError === undefined) throw error;
      options.onError(error);
    },
  });
  return { path: receiver.path, close: () => receiver.close() };
}

function acceptDatagram(datagram: ReceivedDatagram): NotifyMessage | NotifyDrop {
  const { credentials, size } = datagram;
  const drop = (reason: NotifyDropReason, why: string): NotifyDrop => ({
    reason,
    message: `${size}-byte datagram${credentials === undefined ? "" : ` from pid ${credentials.pid} (uid ${credentials.uid})`} dropped: ${why}`,
    size,
    pid: credentials?.pid,
    uid: credentials?.uid,
  });
  if (datagram.truncated) {
    return drop("too-long", `longer than the ${notifyBufferMax}-byte limit`);
  }
  if (credentials === undefined) return drop("no-credentials", "no sender credentials");
  if (size === 0) return drop("empty", "empty");
  if (datagram.data.includes(0)) return drop("nul-byte", "it contains a NUL byte");
  let raw: string;
  try {
    raw = utf8.decode(datagram.data);
  } catch {
    return drop("not-utf8", "it is not UTF-8 text");
  }
  return { ...credentials, fields: parseNotifyMessage(raw), raw };
}

/** Fields to send: `{ READY: 1, STATUS: "..." }` or a map; written one `KEY=VALUE` a line. */
export type NotifyFields =
  | Readonly<Record<string, string | number>>
  | ReadonlyMap<string, string | number>;

/**
 * The text of a notify message for `fields`. A key must be non-empty without `=` or newline, a
 * value without newline (the protocol has no escaping).
 */
export function formatNotifyMessage(fields: NotifyFields): string {
  const entries = fields instanceof Map ? [...fields] : Object.entries(fields);
  const lines: string[] = [];
  for (const [key, value] of entries as [string, string | number][]) {
    const text = String(value);
    if (key === "" || key.includes("=") || key.includes("\n")) {
      throw new PlatformError(
        "notify-field",
        `sd_notify field name ${JSON.stringify(key)}: expected a non-empty name without "=" or newline`,
      );
    }
    if (text.includes("\n")) {
      throw new PlatformError(
        "notify-field",
        `sd_notify field ${key}=${JSON.stringify(text)}: expected a value without newline`,
      );
    }
    lines.push(`${key}=${text}`);
  }
  return lines.join("\n");
}

export interface SdNotifyOptions {
  /** Where to send (a path or `@name`); default `$NOTIFY_SOCKET` of `env`. */
  readonly socketPath?: string;
  /** Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Sends one notify datagram, as sd_notify(3): `message` is the text itself or fields to format
 * ({@link formatNotifyMessage}). Resolves false, sending nothing, when there is no socket to send
 * to (`NOTIFY_SOCKET` unset or empty), true once sent. Never blocks: a receiver whose queue is
 * full is an error (EAGAIN), as are a missing socket and an unusable address.
 */
export async function sdNotify(
  message: string | NotifyFields,
  options: SdNotifyOptions = {},
): Promise<boolean> {
  const path = options.socketPath ?? (options.env ?? process.env).NOTIFY_SOCKET;
  if (path === undefined || path === "") return false;
  const text = typeof message === "string" ? message : formatNotifyMessage(message);
  await sendDatagram(path, Buffer.from(text, "utf8"), "NOTIFY_SOCKET");
  return true;
}
