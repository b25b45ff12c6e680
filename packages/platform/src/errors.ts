/** Why a platform operation failed. Codes are never reused. */
export type PlatformErrorCode =
  | "lookup-failed" // getent failed (not "not found"), or the fallback file could not be read
  | "invalid-entry" // a passwd/group entry that does not have the expected fields
  | "native-unavailable" // the FFI library (koffi) or libc could not be loaded
  | "socket-address" // a socket address that cannot be used (unix path too long, relative, NUL...; not host:port)
  | "socket-call" // a system call on a socket failed (the message names it and errno)
  | "notify-field" // an sd_notify field that cannot be sent (newline or "=" in a key...)
  | "invalid-option" // an option value that is not what the function expects
  | "main-thread-only" // signal-driven I/O (datagram receiver, watched socket) in a worker thread (SIGIO reaches the main thread only)
  | "journal-field" // a journal field whose name the native protocol refuses (lowercase, leading "_" or digit, too long)
  | "unknown";

/** The platform domain's one error class. */
export class PlatformError extends Error {
  override readonly name = "PlatformError";
  readonly code: PlatformErrorCode;
  /** The errno name ("EAGAIN") of a failed system call, for "socket-call". */
  readonly errno: string | undefined;

  constructor(
    code: PlatformErrorCode,
    message: string,
    options?: { cause?: unknown; errno?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errno = options?.errno;
  }

  static from(e: unknown): PlatformError {
    if (e instanceof PlatformError) return e;
    if (e instanceof Error) return new PlatformError("unknown", e.message, { cause: e });
    return new PlatformError("unknown", String(e), { cause: e });
  }
}
