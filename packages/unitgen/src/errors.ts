/** Why a unit could not be rendered or installed. Codes are never reused. */
export type UnitErrorCode =
  | "invalid-section" // section name empty or containing "[", "]" or a control character
  | "invalid-key" // directive name not matching [A-Za-z][A-Za-z0-9-]*
  | "invalid-value" // NUL, newline, surrounding whitespace, trailing backslash, non-finite number...
  | "invalid-specifier" // a "%" not followed by a known specifier character
  | "invalid-env-name" // Environment= key that is not a valid environment variable name
  | "invalid-command" // empty argv, relative executable...
  | "invalid-path" // a path directive that is not absolute
  | "invalid-header" // a header comment line containing a newline or NUL
  | "step-failed" // an install/uninstall step's command failed (names the command and its stderr)
  | "unknown";

/** The unit-generation domain's one error class. */
export class UnitError extends Error {
  override readonly name = "UnitError";
  readonly code: UnitErrorCode;

  constructor(code: UnitErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  static from(e: unknown): UnitError {
    if (e instanceof UnitError) return e;
    if (e instanceof Error) return new UnitError("unknown", e.message, { cause: e });
    return new UnitError("unknown", String(e), { cause: e });
  }
}

/** Shows a value in an error message without letting control characters through. */
export function showValue(value: string): string {
  return JSON.stringify(value);
}
