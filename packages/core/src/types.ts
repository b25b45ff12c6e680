/**
 * The public contract of @procmgr/core. The daemon (apps/daemon), the CLI and library users
 * code against these types; `Supervisor` (supervisor.ts) implements `SupervisorApi`.
 */
import type { ProcessConfig } from "@procmgr/config";
import type { HealthSnapshot } from "./health-monitor.js";

/** Spelled exactly so everywhere: API, CLI, JSON. */
export type ProcessState =
  | "created"
  | "starting"
  | "running"
  | "stopping"
  | "stopped"
  | "exited"
  | "failed"
  | "backoff";

export const processStates: readonly ProcessState[] = [
  "created",
  "starting",
  "running",
  "stopping",
  "stopped",
  "exited",
  "failed",
  "backoff",
];

/** Who owns a definition: the config file (replaced on reload) or the API (persisted). */
export type ProcessSource = "config" | "api";

/** Why a run ended, exactly. */
export interface ExitResult {
  /** Exit code, or null when killed by a signal. */
  readonly code: number | null;
  /** Signal name, or null when it exited by itself. */
  readonly signal: NodeJS.Signals | null;
  /** True when the supervisor stopped it (manual stop, reload, shutdown). */
  readonly stoppedByUs: boolean;
  /** True when the stop timed out and the group was SIGKILLed. */
  readonly timedOut: boolean;
  /** Set when the process could not be spawned at all (ENOENT, EACCES, unknown user...). */
  readonly spawnError?: string;
  /**
   * Why the run failed when its exit status does not say it: "not ready within 90s", "exited
   * before it was ready (no READY=1)", "health check failed 3 times in a row: HTTP 404".
   */
  readonly failure?: string;
  /** The OOM killer killed a process of the run's cgroup (then `failure` names the limit). */
  readonly oomKilled?: boolean;
  /** Whether success_exit_status (or a clean stop by us) counts this as a success. */
  readonly success: boolean;
  readonly startedAt: Date;
  readonly endedAt: Date;
  readonly durationMs: number;
}

export interface ProcessInfo {
  /** Stable UUID. Every id argument of the API accepts this or the name. */
  readonly id: string;
  readonly name: string;
  readonly source: ProcessSource;
  readonly config: ProcessConfig;
  readonly state: ProcessState;
  /** Why it is `failed` (start limit hit, spawn error, exit code 3, ...). */
  readonly failureReason?: string;
  /**
   * Why it is in its state when that is not obvious (additive): "condition failed: ...",
   * "restarting after: exited with code 1", "bound to \"db\", which is stopped".
   */
  readonly stateReason?: string;
  /** In `backoff`: when the next start is due. */
  readonly nextRestartAt?: Date;
  /**
   * A start is decided that its state does not show yet: a restart between its stop and its
   * start, a create with auto_start before its start. It is meant to run (what persistence
   * saves), though it is `stopping`, `stopped` or `created` for now.
   */
  readonly startPending?: true;
  readonly pid?: number;
  /** How many times it has been started (manual or automatic). */
  readonly runCount: number;
  /** How many of those starts were automatic restarts. */
  readonly restartCount: number;
  readonly consecutiveFailures: number;
  readonly lastExit?: ExitResult;
  readonly createdAt: Date;
  readonly startedAt?: Date;
  readonly endedAt?: Date;
  /** While running: ms since the current run started. */
  readonly uptimeMs?: number;
  /** What the program says of itself (sd_notify STATUS=), while it runs. */
  readonly statusText?: string;
  /** Its health check's state, while it runs and is ready (with a health_check). */
  readonly health?: HealthSnapshot;
  /** How the process is tracked and each of its limits enforced (cgroups.ts). */
  readonly enforcement: Enforcement;
  /** Runs that ended because the OOM killer killed a process of their cgroup. */
  readonly oomKills: number;
  /** Resolved log file paths (undefined for inherit/null and the journal). */
  readonly stdoutPath?: string;
  readonly stderrPath?: string;
  /** The stream goes to the journal (`journalctl PROCMGR_PROCESS_ID=<id>`). */
  readonly stdoutJournal?: boolean;
  readonly stderrJournal?: boolean;
}

export interface ConfigDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
  readonly unchanged: readonly string[];
}

export interface UpdateResult {
  /** Fields applied without a restart (restart policy, delays, timeouts, ...). */
  readonly updatedFields: readonly string[];
  /** Fields that only take effect on the next start (env, user, command, ...). */
  readonly restartRequiredFields: readonly string[];
  readonly restarted: boolean;
  readonly process: ProcessInfo;
}

/**
 * How a process is tracked and its limits enforced. `tracking` is "cgroup v2 <dir>", "cgroup v1
 * <dir>" or "process group: <why not a cgroup>"; each configured limit says what enforces it
 * ("cgroup v2 memory.max", "cgroup v1 memory.limit_in_bytes") or "not enforced: <why>".
 */
export interface Enforcement {
  readonly tracking: string;
  /** The process's cgroup in the tracking hierarchy, while it has one. */
  readonly cgroup?: string;
  readonly memory?: string;
  readonly cpu?: string;
  readonly pids?: string;
}

/**
 * Resources of a running process as a whole tree: read from its cgroup (`source: "cgroup"`,
 * every process it started, whatever group or session it moved to), or summed over its process
 * group from /proc where it has no cgroup (`source: "process group"`).
 */
export interface ResourceUsage {
  readonly pid: number;
  readonly source: "cgroup" | "process group";
  /** Processes in the cgroup (or the process group). */
  readonly processCount: number;
  /** user + system CPU seconds of the cgroup since its start (of the group's live members). */
  readonly cpuSeconds: number;
  /** Resident anonymous memory (cgroup memory.stat anon / total_rss; RSS summed otherwise). */
  readonly rssBytes: number;
  /** Memory charged to the cgroup, page cache included (what its memory limit counts). */
  readonly memoryBytes?: number;
  /** The highest `memoryBytes` of this run. */
  readonly memoryPeakBytes?: number;
  readonly threads: number;
}

export interface SupervisorOptions {
  /** Where per-process default logs (`<stateDir>/logs`) and run records live. */
  readonly stateDir: string;
  /** Overrides `<stateDir>/logs`. */
  readonly logDir?: string;
  /** Runtime directories base (default /run as root, $XDG_RUNTIME_DIR otherwise). */
  readonly runtimeDir?: string;
  /**
   * Additive: minimum uptime that resets the consecutive-failure counter (default 10 000 ms;
   * the effective threshold is max(this, the backoff delay that preceded the run)).
   */
  readonly failureResetMinMs?: number;
  /**
   * The sd_notify socket of notify processes (their NOTIFY_SOCKET); default
   * `<runtimeDir>/procmgr/notify-<id>.sock`. Opened at the first notify process.
   */
  readonly notifySocket?: string;
  /**
   * Cgroups (cgroups.ts): by default each process runs in a cgroup of its own under a subtree
   * the supervisor owns, where the host lets it create one; `false`: process groups only.
   */
  readonly cgroups?: boolean;
  /**
   * Where stdout and stderr go when a process does not say (`default`): per-process files in
   * the log dir (the default), or the journal.
   */
  readonly defaultOutput?: "file" | "journal";
  /** journald's native socket (default /run/systemd/journal/socket). */
  readonly journalSocket?: string;
  /**
   * Where the named pipes of children's output are made (default `<stateDir>/fifo`). Volatile:
   * the daemon puts them in its runtime dir (tmpfs), away from a state dir that may fill up, go
   * read-only or be a network filesystem.
   */
  readonly pipeDir?: string;
}

/** What `cgroupStatus` answers. */
export interface CgroupStatus {
  readonly active: boolean;
  readonly summary: string;
}

/** Output of one process (`subscribeOutput`): the chunk is the listener's to keep. */
export type OutputListener = (stream: "stdout" | "stderr", chunk: Buffer) => void;

/** Typed events. */
export interface SupervisorEvents {
  state: [event: { process: ProcessInfo; previous: ProcessState }];
  exit: [event: { process: ProcessInfo; exit: ExitResult }];
  restart: [event: { process: ProcessInfo; delayMs: number }];
  output: [event: { process: ProcessInfo; stream: "stdout" | "stderr"; chunk: Buffer }];
  created: [event: { process: ProcessInfo }];
  updated: [event: { process: ProcessInfo }];
  deleted: [event: { process: ProcessInfo }];
  /** A health check's status changed (unknown, healthy, unhealthy). */
  health: [event: { process: ProcessInfo; health: HealthSnapshot }];
  /** Problems that do not change a state (additive): a failed exec_start_post, a log write error. */
  warning: [event: { process?: ProcessInfo; message: string; cause?: unknown }];
}

export interface SupervisorApi {
  /** Define a process (does not start it unless `config.autoStart`). ALREADY_EXISTS on a duplicate name. */
  create(
    config: ProcessConfig,
    options?: { source?: ProcessSource; id?: string },
  ): Promise<ProcessInfo>;
  start(idOrName: string): Promise<ProcessInfo>;
  /** Manual stop: never followed by an automatic restart. */
  stop(idOrName: string): Promise<ProcessInfo>;
  restart(idOrName: string): Promise<ProcessInfo>;
  /** Refuses a running process unless `force` (which stops it first). */
  delete(idOrName: string, options?: { force?: boolean }): Promise<void>;
  update(
    idOrName: string,
    config: ProcessConfig,
    options?: { dryRun?: boolean; restart?: boolean },
  ): Promise<UpdateResult>;
  list(): ProcessInfo[];
  get(idOrName: string): ProcessInfo;
  /**
   * Make the `source: "config"` processes match `configs`: add (and auto-start) new ones, stop
   * and remove dropped ones, restart changed ones, leave the rest alone. API processes are not
   * touched. With `dryRun` nothing changes; the diff is returned either way. Resolves once the
   * started processes are ready (or failed), or with `wait: false` once the starts have begun
   * (in dependency order, in the background: a long oneshot does not hold the caller).
   */
  apply(
    configs: readonly ProcessConfig[],
    options?: { dryRun?: boolean; wait?: boolean },
  ): Promise<ConfigDiff>;
  /**
   * Call once at daemon start, before `apply`: find the children a previous (crashed) supervisor
   * with the same stateDir left behind (run records under `<stateDir>/run/`, verified by pid +
   * process start time so a reused pid is never touched), stop their whole process groups, and
   * forget the records. Answers what it stopped.
   */
  recover(): Promise<{ readonly stopped: readonly { name: string; pid: number }[] }>;
  /** Resource usage of a running process's group; undefined when it is not running. */
  usage(idOrName: string): Promise<ResourceUsage | undefined>;
  /**
   * CPU seconds and charged memory of a running process's cgroup, two file reads (what a list
   * of every process shows); undefined when it is not running or has no cgroup, a figure absent
   * where no controller counts it.
   */
  briefUsage(idOrName: string): { cpuSeconds?: number; memoryBytes?: number } | undefined;
  /**
   * Calls `listener` with each chunk of one process's output once it is in the log file, until
   * the returned function is called. Only the subscribed process's output is copied for it: the
   * `output` event, by contrast, costs every process's output a copy while anyone listens.
   */
  subscribeOutput(idOrName: string, listener: OutputListener): () => void;
  /** Close and reopen every log file (logrotate). */
  reopenLogs(): Promise<void>;
  /** Stop every process by its own rules; afterwards no child is left. */
  shutdown(): Promise<void>;
  /**
   * What the host offers and the supervisor uses (detected once): "cgroup v2 at
   * /sys/fs/cgroup/...; limits: memory (v1), cpu (v1), pids (v1)", or why processes are only
   * tracked by their process group. `active` is false in the latter case.
   */
  cgroupStatus(): Promise<CgroupStatus>;
  on<E extends keyof SupervisorEvents>(
    event: E,
    listener: (...args: SupervisorEvents[E]) => void,
  ): this;
  off<E extends keyof SupervisorEvents>(
    event: E,
    listener: (...args: SupervisorEvents[E]) => void,
  ): this;
}
