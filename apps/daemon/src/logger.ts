import type { Writable } from "node:stream";
import winston from "winston";

export type LogLevel = "error" | "warn" | "info" | "debug";
export type LogFormat = "text" | "json";
export type Logger = winston.Logger;

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** When set (systemd's JOURNAL_STREAM), each line starts with `<priority>` and has no timestamp. */
  readonly journal?: boolean;
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

/**
 * The daemon's logger: text (`2026-11-22T10:00:00.000Z info message k=v`) or JSON lines on
 * stderr; under journald `<6>message k=v` so `journalctl -p err` works.
 */
export function createLogger(options: LoggerOptions): Logger {
  const journal = options.journal === true;
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
    transports: [new winston.transports.Stream({ stream: options.stream ?? process.stderr })],
    exitOnError: false,
  });
}

function withoutTimestamp(record: Record<string, unknown>): Record<string, unknown> {
  const { timestamp: _ignored, ...rest } = record;
  return rest;
}
