/** Every way a configuration can be wrong. Codes are never reused for another meaning. */
export type ConfigErrorCode =
  | "parse"
  | "invalid"
  | "not-found"
  | "io"
  | "unknown-user"
  | "unknown-group"
  | "unresolved-host"
  | "cycle"
  | "duplicate";

/** One problem, located as precisely as we can: file, line and column (1-based), YAML path. */
export interface ConfigIssue {
  file?: string;
  line?: number;
  column?: number;
  /** Dotted YAML path, e.g. "processes.webapp.restart" or "processes.webapp.args[1]". */
  path: string;
  message: string;
  expected?: string;
  received?: string;
  /** The kind of problem (additive to the contract; the error's code is derived from these). */
  code?: ConfigErrorCode;
}

function summarize(issues: readonly ConfigIssue[]): string {
  if (issues.length === 0) return "invalid configuration";
  const first = formatConfigIssue(issues[0] as ConfigIssue);
  return issues.length === 1 ? first : `${first} (and ${issues.length - 1} more)`;
}

/** The one error class of the config domain. `issues` holds every problem found, not the first. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code: ConfigErrorCode;
  readonly issues: readonly ConfigIssue[];

  constructor(
    code: ConfigErrorCode,
    message: string | undefined,
    issues: readonly ConfigIssue[] = [],
    options?: { cause?: unknown },
  ) {
    super(
      message ?? summarize(issues),
      options?.cause === undefined ? {} : { cause: options.cause },
    );
    this.code = code;
    this.issues = issues;
  }

  /** Build an error from issues; the code is the issues' common code, else "invalid". */
  static fromIssues(issues: readonly ConfigIssue[], cause?: unknown): ConfigError {
    const codes = new Set(issues.map((i) => i.code ?? "invalid"));
    const code: ConfigErrorCode =
      codes.size === 1
        ? ([...codes][0] as ConfigErrorCode)
        : codes.has("parse")
          ? "parse"
          : "invalid";
    return new ConfigError(code, undefined, issues, cause === undefined ? {} : { cause });
  }

  /** Wrap anything thrown into a ConfigError (a ConfigError is returned as is). */
  static from(e: unknown): ConfigError {
    if (e instanceof ConfigError) return e;
    if (e instanceof Error) {
      const errno = (e as NodeJS.ErrnoException).code;
      const code: ConfigErrorCode = errno === "ENOENT" ? "not-found" : errno ? "io" : "invalid";
      const file = (e as NodeJS.ErrnoException).path;
      const issue: ConfigIssue = { path: "", message: e.message, code };
      if (file !== undefined) issue.file = file;
      return new ConfigError(code, e.message, [issue], { cause: e });
    }
    return new ConfigError(
      "invalid",
      String(e),
      [{ path: "", message: String(e), code: "invalid" }],
      {
        cause: e,
      },
    );
  }
}

/** `file:line:col: path: message (expected X, received Y)` — the parts that are known. */
export function formatConfigIssue(issue: ConfigIssue): string {
  let location = "";
  if (issue.file !== undefined) {
    location = issue.file;
    if (issue.line !== undefined) {
      location += `:${issue.line}`;
      if (issue.column !== undefined) location += `:${issue.column}`;
    }
    location += ": ";
  } else if (issue.line !== undefined) {
    location = `line ${issue.line}${issue.column !== undefined ? `:${issue.column}` : ""}: `;
  }
  const path = issue.path === "" ? "" : `${issue.path}: `;
  const detail: string[] = [];
  if (issue.expected !== undefined) detail.push(`expected ${issue.expected}`);
  if (issue.received !== undefined) detail.push(`received ${issue.received}`);
  const suffix = detail.length > 0 ? ` (${detail.join(", ")})` : "";
  return `${location}${path}${issue.message}${suffix}`;
}

/** One line per issue, in the order they were found. */
export function formatConfigError(e: ConfigError): string {
  if (e.issues.length === 0) return e.message;
  return e.issues.map(formatConfigIssue).join("\n");
}
