import type { ConfigOf } from "./field-row.js";
import type { healthCheckFieldTable, resourceLimitFieldTable } from "./nested-fields.js";
import type {
  healthCheckTypes,
  killModes,
  processTypes,
  restartPolicies,
} from "./process-enums.js";
import type { ProcessFieldTable } from "./process-fields.js";

export type RestartPolicy = keyof typeof restartPolicies;
export type KillMode = keyof typeof killModes;
export type ProcessType = keyof typeof processTypes;
export type HealthCheckType = keyof typeof healthCheckTypes;

/**
 * Where a stream of the child goes. `default` = the daemon's default: a per-process file in its
 * log dir, or the journal when the daemon is told so (`--process-output journal`).
 */
export type OutputTarget =
  | { readonly kind: "default" }
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "journal" }
  | { readonly kind: "inherit" }
  | { readonly kind: "null" };

export interface EnvironmentFile {
  readonly path: string;
  /** Written with a leading `-` in YAML: a missing file is not an error. */
  readonly optional: boolean;
}

/**
 * A listening socket the daemon opens and holds for a process, passed to it as systemd does
 * (fd 3 on, LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID).
 */
export interface SocketConfig {
  /** "127.0.0.1:8080", "[::1]:8080", ":8080" (every address), or an absolute unix path. */
  readonly listen: string;
  /** Its name in LISTEN_FDNAMES (default: the process's name). */
  readonly name?: string;
  readonly type: "stream" | "datagram";
  /** listen(2)'s backlog (stream); default 4096, capped by the kernel's somaxconn. */
  readonly backlog?: number;
  /** A unix socket file's permissions (default 0666, as systemd's SocketMode=). */
  readonly mode?: number;
  /** A unix socket file's owner: "user" or "user:group". */
  readonly owner?: string;
}

/** `path` must exist, `!path` must not exist, `|path` one of the `|` entries must exist. */
export interface PathCondition {
  readonly path: string;
  readonly negate: boolean;
  readonly anyOf: boolean;
}

/**
 * A health check as resolved: its rows (nested-fields.ts), plus the derived `argv` of an exec
 * check (the split `command` followed by `args`, like ProcessConfig.argv).
 */
export type HealthCheck = Flat<
  ConfigOf<typeof healthCheckFieldTable> & { readonly argv?: readonly string[] }
>;

/** CPU in cores ("500m" = 0.5), memory in bytes, pids: the rows of nested-fields.ts. */
export type ResourceLimits = ConfigOf<typeof resourceLimitFieldTable>;

/**
 * The resolved, validated form of one process definition. This is the contract between
 * @procmgr/config (which produces it from YAML, the API or the CLI) and @procmgr/core (which
 * supervises it). Every field has its default filled in; durations are in seconds.
 *
 * Inferred from the field table (process-fields.ts): one key per row, with the value its schema
 * outputs; plus `name`, and the derived `argv`, what is executed without a shell: the split
 * `command` followed by `args` (never empty), set when a process is resolved or updated (and
 * the health check's own, above).
 *
 * Two configs are "the same" when `configsEqual` (config-equal.ts) says so; the supervisor's
 * reload diff relies on that.
 */
export type ProcessConfig = Flat<
  { readonly name: string } & Omit<ConfigOf<ProcessFieldTable>, "healthCheck"> & {
      readonly argv: readonly string[];
      readonly healthCheck?: HealthCheck;
    }
>;

type Flat<T> = { [K in keyof T]: T[K] } & {};
