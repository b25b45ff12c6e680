/** Why a `psh` operation failed. Codes are never reused. */
export type PshErrorCode =
  | "usage" // conflicting flags, unknown target name
  | "not-found" // no repo, no profile entry, unit not installed
  | "privilege" // root needed and sudo cannot give it (missing, no rights, password but no terminal)
  | "command-failed" // systemctl / journalctl / getent exited non-zero
  | "invalid" // a name that cannot be a unit name, a malformed manifest or host profile
  | "parse" // a host profile or manifest that is not valid TOML / JSON / YAML
  | "io" // a host profile or manifest that exists but cannot be read
  | "unknown";

/** One problem in a file psh reads (host profile, module.toml, service.toml), as precisely as known. */
export interface PshIssue {
  readonly file?: string;
  /** 1-based, when the parser said where. */
  readonly line?: number;
  readonly column?: number;
  /** Dotted key path, e.g. "config.mod.ear.env.X" ("" for the whole file). */
  readonly path: string;
  readonly message: string;
  readonly expected?: string;
  readonly received?: string;
}

/** The psh domain's one error class; `issues` lists every problem found in a file. */
export class PshError extends Error {
  override readonly name = "PshError";
  readonly code: PshErrorCode;
  readonly issues: readonly PshIssue[];

  constructor(
    code: PshErrorCode,
    message: string,
    options?: { cause?: unknown; issues?: readonly PshIssue[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.issues = options?.issues ?? [];
  }

  static from(e: unknown): PshError {
    if (e instanceof PshError) return e;
    if (e instanceof Error) return new PshError("unknown", e.message, { cause: e });
    return new PshError("unknown", String(e), { cause: e });
  }
}
