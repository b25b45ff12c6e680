/**
 * The supervisor's records, shared by its parts: a `Managed` per defined process, a `Run` per
 * child it started, and `Host`, the `Supervisor` facade as its parts see it (its events, the
 * snapshot they carry, and the one way to change a state).
 */
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import type { EventEmitter } from "node:events";
import type { ProcessConfig } from "@procmgr/config";
import type { ProcessCgroup } from "./cgroups.js";
import type { HealthMonitor } from "./health-monitor.js";
import type { Identity } from "./identity.js";
import type { LogRotation } from "./log-rotation.js";
import type { PassedSockets } from "./sockets.js";
import type { ProcessEvent } from "./state-machine.js";
import type {
  Enforcement,
  ExitResult,
  OutputListener,
  ProcessInfo,
  ProcessSource,
  ProcessState,
  SupervisorEvents,
} from "./types.js";

export type Stream = "stdout" | "stderr";

/** The uid/gid a child runs as, when the supervisor switched users for it. */
export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

/**
 * Where the output relay writes a stream: a log file (LogSink) or the journal (JournalSink).
 * `write` takes a chunk it must not keep (a view of a reused buffer) and returns false when the
 * source must pause until `drained()`; `flushed()` resolves once what was accepted is written.
 */
export interface OutputSink {
  /** What it writes to, for messages: a path, or "the journal". */
  readonly path: string;
  readonly isOpen: boolean;
  /** Some accepted bytes are not written yet. */
  readonly pending: boolean;
  /** One reference per stream writing to it (a run's pipe, a hook's); `owner` owns a new file. */
  acquire(owner: Owner | undefined): void;
  release(): void;
  write(chunk: Buffer): boolean;
  drained(): Promise<void>;
  flushed(): Promise<void>;
  /** Closes and opens its file again (logrotate). */
  reopen(): void;
  setRotation(rotation: LogRotation | undefined): void;
}

/**
 * Where a stream goes: its log file, or the journal (`path` is then the file its lines go to
 * when the journal cannot be written).
 */
export interface Destination {
  readonly journal: boolean;
  readonly path: string;
}

/** Where a process's streams go (undefined for inherit/null). */
export type Sinks = { stdout?: OutputSink | undefined; stderr?: OutputSink | undefined };

/** What a launch of a process (its command or one of its hooks) runs with. */
export interface LaunchContext {
  readonly identity: Identity;
  readonly env: Record<string, string>;
  readonly switchUser: boolean;
  readonly sinks: Sinks;
}

/** One child of a process, from its spawn until its output is in the files. */
export interface Run {
  readonly child: ChildProcess;
  /**
   * The main process: the child, or the process it handed over to (a forking process's
   * pidfile, a notify process's MAINPID=), then `adopted`.
   */
  pid: number;
  /** The main process's group (the child leads its own; an adopted one may have another). */
  pgid: number;
  /** The main process is not our child (readiness.ts follows it through /proc). */
  adopted: boolean;
  /** MAINPID= of a notify process: its main process once the child exits. */
  announcedMainPid?: number;
  readonly startedAt: Date;
  /** The backoff delay before this run (the failure counter resets after a run this long). */
  readonly precedingDelayMs: number;
  readonly owner: Owner | undefined;
  /** Its cgroup (cgroups.ts), entered before the program ran; undefined: tracked by its group. */
  readonly cgroup: ProcessCgroup | undefined;
  /** OOM kills the cgroup had counted when the run began. */
  readonly oomKillsBefore: number;
  /** Resolves once the cgroup is empty after the main process's exit (at once without one). */
  emptied?: Promise<void>;
  spawned: boolean;
  stopRequested: boolean;
  timedOut: boolean;
  exit?: { code: number | null; signal: NodeJS.Signals | null; at: Date };
  finished: boolean;
  /** Resolves when the output pipes the daemon reads are closed (FIFOs or child.stdout/err). */
  readonly pipesClosed: Promise<unknown>;
  stopping?: Promise<void>;
  /** Ready as the process type says (the `ready` event); set once. */
  ready: boolean;
  /** Resolves when the run is ready, or over. */
  readonly readyOrOver: Promise<void>;
  resolveReady: () => void;
  /**
   * Why the run failed whatever its exit status says: not ready within timeout_start_sec, a
   * notify process that exited before READY=1, a failing health check, a missed watchdog.
   */
  failure?: string;
  /** The failure restarts the process whatever its restart policy (health check, watchdog). */
  restartAnyway: boolean;
  /** What the program said of itself (sd_notify STATUS=). */
  statusText?: string;
  /** Ends a start that takes longer than timeout_start_sec (and EXTEND_TIMEOUT_USEC). */
  startTimer?: NodeJS.Timeout;
  /** What it was launched with (exec_start_post once it is ready, exec health checks). */
  context?: LaunchContext;
  /** Restarts the run when no WATCHDOG=1 comes within watchdog_sec (run-watch.ts). */
  watchdogTimer?: NodeJS.Timeout;
  /** Its health check, from ready until the run is over. */
  health?: HealthMonitor;
  /** Called when a health result comes in (`settledHealth` waits with these). */
  readonly healthWaiters: (() => void)[];
  /** Aborted when the run is over: cancels stop timers and exec_start_post hooks. */
  readonly over: AbortController;
  readonly done: Promise<ExitResult>;
  resolveDone: (exit: ExitResult) => void;
}

/** One defined process. */
export interface Managed {
  readonly id: string;
  readonly name: string;
  readonly source: ProcessSource;
  config: ProcessConfig;
  /** Changed only by Supervisor.setState, through the state machine's table. */
  state: ProcessState;
  failureReason?: string | undefined;
  stateReason?: string | undefined;
  nextRestartAt?: Date | undefined;
  runCount: number;
  restartCount: number;
  consecutiveFailures: number;
  lastExit?: ExitResult | undefined;
  readonly createdAt: Date;
  startedAt?: Date | undefined;
  endedAt?: Date | undefined;
  run?: Run | undefined;
  launching?: Promise<void> | undefined;
  launchAbort?: AbortController | undefined;
  /** Settles when the post-exit work (exec_stop_post, state, restart scheduling) is done. */
  settling?: Promise<void> | undefined;
  backoffTimer?: NodeJS.Timeout | undefined;
  /** Start times (ms) still counting toward the start limit, oldest first. */
  starts: number[];
  sinks: Sinks;
  /** Where the streams of `config` go (computed once per config: every snapshot shows it). */
  paths?: {
    config: ProcessConfig;
    stdout: Destination | undefined;
    stderr: Destination | undefined;
  };
  runtimeDirs: string[];
  /** Runs ended by the OOM killer. */
  oomKills: number;
  /** Why its last start could not use a cgroup, though the host has them. */
  cgroupProblem?: string | undefined;
  deleted: boolean;
  /** Restarts (and auto_start creates) under way: ProcessInfo's `startPending` while above 0. */
  pendingStarts: number;
  /** `subscribeOutput`'s listeners of this process. */
  readonly outputListeners: Set<OutputListener>;
}

/** A process record in state `created`. */
export function newManaged(config: ProcessConfig, source: ProcessSource, id: string): Managed {
  return {
    id,
    name: config.name,
    source,
    config,
    state: "created",
    runCount: 0,
    restartCount: 0,
    consecutiveFailures: 0,
    createdAt: new Date(),
    starts: [],
    sinks: {},
    runtimeDirs: [],
    oomKills: 0,
    deleted: false,
    pendingStarts: 0,
    outputListeners: new Set(),
  };
}

/** `work` (a stop and a start, a create and its start) with `m` shown as meant to run throughout. */
export async function whileStartPending<T>(m: Managed, work: () => Promise<T>): Promise<T> {
  m.pendingStarts++;
  try {
    return await work();
  } finally {
    m.pendingStarts--;
  }
}

/** Whether a process has a run, a start in progress or a pending restart. */
export function isActive(m: Managed): boolean {
  return m.run !== undefined || m.launching !== undefined || m.backoffTimer !== undefined;
}

/** The `Supervisor` facade as its parts see it. */
export interface Host {
  /** The supervisor's events (the facade itself). */
  readonly events: EventEmitter<SupervisorEvents>;
  /** The ProcessInfo of `m` now, as every event carries it. */
  snapshot(m: Managed): ProcessInfo;
  /** A `warning` event about `m`. */
  warn(m: Managed, message: string, cause?: unknown): void;
  /** Moves `m` by `event` through the state machine's table; emits `state` when it changed. */
  setState(m: Managed, event: ProcessEvent): void;
  /** What a run of `config` needs in its environment to speak sd_notify (run-watch.ts). */
  notifyEnvironment(config: ProcessConfig): Promise<Record<string, string>>;
  /** A run is ready: its health check begins, its watchdog runs. */
  onReady(m: Managed, run: Run): void;
  /**
   * The listening sockets a run of `m` gets (opened at the first start, then kept), no longer
   * watched for start_on_connect; throws why they cannot be opened.
   */
  passSockets(m: Managed): Promise<PassedSockets>;
  /** Writes the run record of `run` (again, when its main process changed). */
  recordRun(m: Managed, run: Run): void;
  /** A keep-alive from a run (sd_notify WATCHDOG=1), or `trigger`: the watchdog fires now. */
  watchdog(m: Managed, run: Run, trigger: boolean): void;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The ProcessInfo of `m` now, as every event carries it (`enforcement` and destinations given). */
export function snapshotOf(
  m: Managed,
  enforcement: Enforcement,
  destination: (stream: Stream) => Destination | undefined,
): ProcessInfo {
  const info: Mutable<ProcessInfo> = {
    id: m.id,
    name: m.name,
    source: m.source,
    config: m.config,
    state: m.state,
    runCount: m.runCount,
    restartCount: m.restartCount,
    consecutiveFailures: m.consecutiveFailures,
    createdAt: m.createdAt,
    enforcement,
    oomKills: m.oomKills,
  };
  if (m.state === "failed" && m.failureReason !== undefined) info.failureReason = m.failureReason;
  if (m.stateReason !== undefined) info.stateReason = m.stateReason;
  if (m.state === "backoff" && m.nextRestartAt) info.nextRestartAt = m.nextRestartAt;
  if (m.pendingStarts > 0) info.startPending = true;
  const run = m.run;
  if (run && !run.exit) {
    info.pid = run.pid;
    info.uptimeMs = Date.now() - run.startedAt.getTime();
    if (run.statusText !== undefined) info.statusText = run.statusText;
    if (run.health !== undefined) info.health = run.health.snapshot();
  }
  if (m.lastExit) info.lastExit = m.lastExit;
  if (m.startedAt) info.startedAt = m.startedAt;
  if (m.endedAt) info.endedAt = m.endedAt;
  const out = destination("stdout");
  const err = destination("stderr");
  if (out?.journal) info.stdoutJournal = true;
  else if (out) info.stdoutPath = out.path;
  if (err?.journal) info.stderrJournal = true;
  else if (err) info.stderrPath = err.path;
  return info;
}

/** A short stable name of a supervisor's state directory (its notify socket, its cgroups). */
export function instanceKey(stateDir: string): string {
  return createHash("sha256").update(stateDir).digest("hex").slice(0, 12);
}
