/** Why a `psh sys` operation failed. Codes are never reused. */
export type PshErrorCode =
  | "usage" // conflicting flags, unknown target name
  | "not-found" // no repo, no profile entry, unit not installed
  | "privilege" // root needed and sudo cannot be used without a password
  | "command-failed" // systemctl / journalctl / getent exited non-zero
  | "invalid" // a name that cannot be a unit name, a malformed manifest
  | "unknown";

/** The psh domain's one error class. */
export class PshError extends Error {
  override readonly name = "PshError";
  readonly code: PshErrorCode;

  constructor(code: PshErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  static from(e: unknown): PshError {
    if (e instanceof PshError) return e;
    if (e instanceof Error) return new PshError("unknown", e.message, { cause: e });
    return new PshError("unknown", String(e), { cause: e });
  }
}
