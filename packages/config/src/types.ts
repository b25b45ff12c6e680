import type {
  healthCheckTypes,
  killModes,
  processTypes,
  restartPolicies,
} from "./process-enums.js";

/**
 * The resolved, validated form of one process definition. This is the contract between
 * @procmgr/config (which produces it from YAML, the API or the CLI) and @procmgr/core (which
 * supervises it). Every field has its default filled in; durations are in seconds.
 *
 * Two configs are "the same" when `configsEqual` (config-equal.ts) says so; the supervisor's
 * reload diff relies on that.
 *
 * Every field but `name` and `argv` is a row of the field table (process-fields.ts), which gives
 * its YAML name, schema, default and its other shapes; a test holds the two equal.
 */

export type RestartPolicy = keyof typeof restartPolicies;
export type KillMode = keyof typeof killModes;
export type ProcessType = keyof typeof processTypes;
export type HealthCheckType = keyof typeof healthCheckTypes;

/** Where a stream of the child goes. `default` = a per-process file in the daemon's log dir. */
export type OutputTarget =
  | { readonly kind: "default" }
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "inherit" }
  | { readonly kind: "null" };

export interface EnvironmentFile {
  readonly path: string;
  /** Written with a leading `-` in YAML: a missing file is not an error. */
  readonly optional: boolean;
}

/** `path` must exist, `!path` must not exist, `|path` one of the `|` entries must exist. */
export interface PathCondition {
  readonly path: string;
  readonly negate: boolean;
  readonly anyOf: boolean;
}

export interface HealthCheck {
  readonly type: HealthCheckType;
  readonly intervalSec: number;
  readonly timeoutSec: number;
  readonly retries: number;
  readonly startPeriodSec: number;
  /** Restart the process after this many consecutive failures; 0 = never. */
  readonly restartAfter: number;
  readonly endpoint?: string;
  readonly method: string;
  readonly expectedStatus: number;
  readonly host?: string;
  readonly port?: number;
  readonly command?: string;
  readonly args: readonly string[];
  /** exec checks: what is executed, the split `command` followed by `args` (like ProcessConfig.argv). */
  readonly argv?: readonly string[];
}

export interface ResourceLimits {
  /** CPU in cores ("500m" = 0.5, "1.5" = 1.5). */
  readonly cpu?: number;
  /** Memory in bytes. */
  readonly memoryBytes?: number;
  readonly pids?: number;
}

export interface ProcessConfig {
  readonly name: string;
  /** The command as written (may hold inline arguments: `gunicorn app:app`). */
  readonly command: string;
  /** The `args` list as written. */
  readonly args: readonly string[];
  /** What is executed, without a shell: the split `command` followed by `args`. Never empty. */
  readonly argv: readonly string[];
  readonly description?: string;
  readonly user?: string;
  readonly group?: string;
  readonly workingDir?: string;
  readonly env: Readonly<Record<string, string>>;
  readonly environmentFile?: EnvironmentFile;
  readonly autoStart: boolean;
  readonly restart: RestartPolicy;
  readonly restartSec: number;
  readonly restartMaxDelaySec: number;
  readonly startLimitBurst: number;
  readonly startLimitIntervalSec: number;
  readonly timeoutStartSec: number;
  readonly timeoutStopSec: number;
  /** Normalised signal name, e.g. "SIGTERM" (numbers in YAML are converted to names). */
  readonly killSignal: NodeJS.Signals;
  readonly killMode: KillMode;
  readonly successExitStatus: readonly number[];
  readonly stdout: OutputTarget;
  readonly stderr: OutputTarget;
  readonly pidfile?: string;
  /** Each hook is an argv (already split like `command`). */
  readonly execStartPre: readonly (readonly string[])[];
  readonly execStartPost: readonly (readonly string[])[];
  readonly execStopPost: readonly (readonly string[])[];
  /** Names relative to /run (or $XDG_RUNTIME_DIR for a non-root daemon). */
  readonly runtimeDirectory: readonly string[];
  readonly conditionPathExists: readonly PathCondition[];
  /** Capability names, upper case with CAP_ prefix, e.g. "CAP_NET_BIND_SERVICE". */
  readonly ambientCapabilities: readonly string[];
  readonly after: readonly string[];
  readonly before: readonly string[];
  readonly requires: readonly string[];
  readonly wants: readonly string[];
  readonly bindsTo: readonly string[];
  readonly conflicts: readonly string[];
  readonly processType: ProcessType;
  readonly healthCheck?: HealthCheck;
  readonly resourceLimits?: ResourceLimits;
}
