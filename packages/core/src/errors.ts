export type SupervisorErrorCode =
  | "not-found"
  | "already-exists"
  | "invalid-state"
  | "spawn-failed"
  | "invalid-argument";

const codes: ReadonlySet<string> = new Set<SupervisorErrorCode>([
  "not-found",
  "already-exists",
  "invalid-state",
  "spawn-failed",
  "invalid-argument",
]);

/** The one error class of @procmgr/core. */
export class SupervisorError extends Error {
  override readonly name = "SupervisorError";
  readonly code: SupervisorErrorCode;

  constructor(code: SupervisorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** Wrap anything thrown into a SupervisorError (kept as is when it already is one). */
  static from(e: unknown, code: SupervisorErrorCode = "invalid-state"): SupervisorError {
    if (e instanceof SupervisorError) return e;
    if (e instanceof Error) {
      const c = (e as { code?: unknown }).code;
      const resolved = typeof c === "string" && codes.has(c) ? (c as SupervisorErrorCode) : code;
      return new SupervisorError(resolved, e.message, { cause: e });
    }
    return new SupervisorError(code, String(e), { cause: e });
  }
}
