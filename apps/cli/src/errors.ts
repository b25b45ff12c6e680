/** Exit codes of every verb. */
export const ExitCode = {
  ok: 0,
  /** The answer is no, or the operation failed. */
  failed: 1,
  usage: 2,
  unreachable: 3,
  permission: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type CliErrorCode = "usage" | "failed" | "unreachable" | "permission" | "internal";

const exitCodeOf: Record<CliErrorCode, ExitCode> = {
  usage: ExitCode.usage,
  failed: ExitCode.failed,
  unreachable: ExitCode.unreachable,
  permission: ExitCode.permission,
  internal: ExitCode.failed,
};

/** Where the CLI looked for the daemon, for "unreachable" messages. */
export interface DaemonTarget {
  address: string;
  searched: readonly string[];
  explicit: boolean;
}

/** The CLI's one error class: a code, a message for the user, the cause. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  get exitCode(): ExitCode {
    return exitCodeOf[this.code];
  }

  /**
   * A CliError for anything: clipanion usage errors become "usage", anything else "internal".
   * RPC errors are mapped by `toCliError` (rpc-errors.ts), loaded only when needed.
   */
  static from(e: unknown): CliError {
    if (e instanceof CliError) return e;
    if (isUsageError(e)) return new CliError("usage", e.message, { cause: e });
    const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
    return new CliError("internal", `internal error: ${message}`, { cause: e });
  }
}

function isUsageError(e: unknown): e is Error {
  return e instanceof Error && (e as { clipanion?: { type?: string } }).clipanion?.type === "usage";
}
