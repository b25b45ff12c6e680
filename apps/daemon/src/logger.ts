import type { Writable } from "node:stream";
import {
  isJournalFieldName,
  type JournalFields,
  type JournalSender,
  journalSocketPath,
  openJournalSender,
  PlatformError,
} from "@procmgr/platform";
import winston from "winston";

export type LogLevel = "error" | "warn" | "info" | "debug";
export type LogFormat = "text" | "json";
export type Logger = winston.Logger;

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /**
   * When set (systemd's JOURNAL_STREAM), entries go to journald through its native protocol
   * (structured: see {@link journalFields}); if its socket cannot be reached, lines on the
   * stream that start with `<priority>` and have no timestamp.
   */
  readonly journal?: boolean;
  /** journald's native socket (default /run/systemd/journal/socket); tests point it elsewhere. */
  readonly journalSocket?: string;
  /** Default: process.stderr. */
  readonly stream?: Writable;
}

/** sd-daemon(3) priorities, which journald parses from the start of each line. */
const syslogPriority: Record<string, number> = { error: 3, warn: 4, info: 6, debug: 7 };

const reserved = new Set(["level", "message", "timestamp"]);

function renderValue(v: unknown): string {
  const s = typeof v === "string" ? v : v instanceof Date ? v.toISOString() : JSON.stringify(v);
  if (s === undefined) return "undefined";
  return s === "" || /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

/** `message key=value key2="with space"` */
export function renderText(info: Record<string, unknown>): string {
  const parts = [String(info.message)];
  for (const [k, v] of Object.entries(info)) {
    if (reserved.has(k) || v === undefined) continue;
    parts.push(`${k}=${renderValue(v)}`);
  }
  return parts.join(" ");
}

/** The field a log key becomes in a journal entry; undefined when it cannot be one. */
function journalFieldName(key: string): string | undefined {
  if (key === "process_id") return "PROCESS_ID";
  if (key === "process") return "PROCESS_NAME";
  // Prefixed: a bare key could collide with a field journald or journalctl give a meaning to
  // (`unit` as UNIT is matched by `journalctl -u`, CODE_LINE, MESSAGE_ID, SYSLOG_PID...).
  const name = `PROCMGR_${key.toUpperCase().replace(/[^A-Z0-9_]/g, "_")}`;
  return isJournalFieldName(name) ? name : undefined;
}

function journalValue(v: unknown): string {
  if (typeof v === "string") return v;
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v) ?? String(v);
}

/**
 * A log record as a journal entry: MESSAGE (the text line, `message k=v ...`), PRIORITY,
 * SYSLOG_IDENTIFIER=dd-procmgrd, PROCESS_ID and PROCESS_NAME for a line about a process, and
 * every other key as PROCMGR_<KEY> (`reason` is PROCMGR_REASON).
 */
export function journalFields(info: Record<string, unknown>): JournalFields {
  const fields: Record<string, string> = {
    MESSAGE: renderText(info),
    PRIORITY: String(syslogPriority[String(info.level)] ?? 6),
    SYSLOG_IDENTIFIER: "dd-procmgrd",
  };
  for (const [k, v] of Object.entries(info)) {
    if (reserved.has(k) || v === undefined) continue;
    const name = journalFieldName(k);
    if (name !== undefined) fields[name] = journalValue(v);
  }
  return fields;
}

const formatted = Symbol.for("message");

/** winston-transport's class: winston exports it as `Transport` (its typings say `transport`). */
const TransportStream = (winston as unknown as { Transport: typeof winston.transport }).Transport;

/**
 * Sends each record to journald as a native entry. Until the socket is open, records wait (in
 * order); if it cannot be reached (no journald there, refused), this says so once on the stream
 * and writes every record there from then on, formatted as without the native protocol (`<6>...`).
 * A record journald has no room for (EAGAIN) goes to the stream alone.
 */
class JournalTransport extends TransportStream {
  readonly #stream: Writable;
  readonly #socket: string;
  #sender: JournalSender | undefined;
  #pending: Record<string | symbol, unknown>[] | undefined = [];
  #fallback = false;

  constructor(stream: Writable, socket: string) {
    super();
    this.#stream = stream;
    this.#socket = socket;
    openJournalSender(socket).then(
      (sender) => {
        this.#sender = sender;
        this.#flush();
      },
      (e: unknown) => {
        this.#fallBack(e);
        this.#flush();
      },
    );
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    if (this.#pending !== undefined) this.#pending.push(info);
    else this.#write(info);
    next();
  }

  override close(): void {
    this.#sender?.close();
    this.#sender = undefined;
  }

  #flush(): void {
    const pending = this.#pending ?? [];
    this.#pending = undefined;
    for (const info of pending) this.#write(info);
  }

  #write(info: Record<string | symbol, unknown>): void {
    if (!this.#fallback && this.#sender !== undefined) {
      try {
        this.#sender.send(journalFields(info as Record<string, unknown>));
        return;
      } catch (e) {
        if (!(e instanceof PlatformError && e.errno === "EAGAIN")) this.#fallBack(e);
      }
    }
    this.#stream.write(`${String(info[formatted])}\n`);
  }

  #fallBack(e: unknown): void {
    this.#fallback = true;
    this.#sender?.close();
    this.#sender = undefined;
    const why = e instanceof Error ? e.message : String(e);
    this.#stream.write(
      `<4>cannot write to the journal's native socket ${this.#socket} (${why}): logging to stderr instead\n`,
    );
  }
}

/**
 * The daemon's logger: text (`2026-11-22T10:00:00.000Z info message k=v`) or JSON lines on
 * stderr; under journald structured entries through its native protocol (JournalTransport), or
 * `<6>message k=v` lines on stderr when that socket is unreachable, so `journalctl -p err` works.
 */
export function createLogger(options: LoggerOptions): Logger {
  const journal = options.journal === true;
  const stream = options.stream ?? process.stderr;
  const line = winston.format.printf((info) => {
    const record = info as Record<string, unknown>;
    const level = String(info.level);
    if (options.format === "json") {
      const body = JSON.stringify(journal ? withoutTimestamp(record) : record);
      return journal ? `<${syslogPriority[level] ?? 6}>${body}` : body;
    }
    const text = renderText(record);
    return journal
      ? `<${syslogPriority[level] ?? 6}>${text}`
      : `${String(info.timestamp)} ${level} ${text}`;
  });
  return winston.createLogger({
    level: options.level,
    levels: { error: 0, warn: 1, info: 2, debug: 3 },
    format: winston.format.combine(winston.format.timestamp(), line),
    transports: [
      journal
        ? new JournalTransport(stream, options.journalSocket ?? journalSocketPath)
        : new winston.transports.Stream({ stream }),
    ],
    exitOnError: false,
  });
}

function withoutTimestamp(record: Record<string, unknown>): Record<string, unknown> {
  const { timestamp: _ignored, ...rest } = record;
  return rest;
}
