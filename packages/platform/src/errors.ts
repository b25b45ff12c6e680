/** Why a platform lookup failed. Codes are never reused. */
export type PlatformErrorCode =
  | "lookup-failed" // getent failed (not "not found"), or the fallback file could not be read
  | "invalid-entry" // a passwd/group entry that does not have the expected fields
  | "unknown";

/** The platform domain's one error class. */
export class PlatformError extends Error {
  override readonly name = "PlatformError";
  readonly code: PlatformErrorCode;

  constructor(code: PlatformErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  static from(e: unknown): PlatformError {
    if (e instanceof PlatformError) return e;
    if (e instanceof Error) return new PlatformError("unknown", e.message, { cause: e });
    return new PlatformError("unknown", String(e), { cause: e });
  }
}
