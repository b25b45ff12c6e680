/**
 * The supervisor: spawns children in their own process groups, pipes their output to log
 * files, restarts them by policy with exponential backoff, stops whole process groups.
 * Event-driven throughout: no polling while idle.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { EventEmitter, once } from "node:events";
import {
  accessSync,
  chownSync,
  closeSync,
  constants,
  mkdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { type ConnectOpts, Socket, type SocketConstructorOpts } from "node:net";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import {
  changedFields,
  configsEqual,
  hotFields,
  type OutputTarget,
  type PathCondition,
  type ProcessConfig,
} from "@procmgr/config";
import { runtimeDirectoryBase } from "@procmgr/platform";
import { buildEnvironment } from "./environment.js";
import { SupervisorError } from "./errors.js";
import { FifoPool } from "./fifo-pool.js";
import {
  type DaemonIdentity,
  daemonIdentity,
  type Identity,
  IdentityLookupError,
  type LaunchPlan,
  planLaunch,
  resolveIdentity,
} from "./identity.js";
import { LogSink } from "./log-sink.js";
import {
  backoffDelayMs,
  failureResetAfterMs,
  failureResetMinMs,
  forgetOldStarts,
  restartDecision,
  startLimitExceeded,
  startsInWindow,
} from "./policy.js";
import { bootId, groupMembers, groupUsage, isGone, readProcStat, signalSafe } from "./proc-fs.js";
import { RunRecords } from "./run-records.js";
import type {
  ConfigDiff,
  ExitResult,
  OutputListener,
  ProcessInfo,
  ProcessSource,
  ProcessState,
  ResourceUsage,
  SupervisorApi,
  SupervisorEvents,
  SupervisorOptions,
  UpdateResult,
} from "./types.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Stream = "stdout" | "stderr";

/** How long to wait for the output pipes to drain after the main process exited. */
const pipeDrainMs = 500;
/** The most named pipes kept ready (two per process up to this). */
const maxReadyFifos = 4096;

interface Run {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly startedAt: Date;
  readonly precedingDelayMs: number;
  /** The uid/gid it runs as, when the supervisor switched users for it. */
  readonly owner: { readonly uid: number; readonly gid: number } | undefined;
  spawned: boolean;
  stopRequested: boolean;
  timedOut: boolean;
  exit?: { code: number | null; signal: NodeJS.Signals | null; at: Date };
  finished: boolean;
  /** Resolves when the output pipes the daemon reads are closed (FIFOs or child.stdout/err). */
  readonly pipesClosed: Promise<unknown>;
  stopping?: Promise<void>;
  /** Aborted when the run is over: cancels stop timers. */
  readonly over: AbortController;
  readonly done: Promise<ExitResult>;
  resolveDone: (exit: ExitResult) => void;
}

type Sinks = { stdout?: LogSink | undefined; stderr?: LogSink | undefined };

/** What a launch of a process (its command or one of its hooks) runs with. */
interface LaunchContext {
  readonly identity: Identity;
  readonly env: Record<string, string>;
  readonly switchUser: boolean;
  readonly sinks: Sinks;
}

interface Managed {
  readonly id: string;
  readonly name: string;
  readonly source: ProcessSource;
  config: ProcessConfig;
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
  starts: number[];
  sinks: Sinks;
  /** The log paths of `config` (computed once per config: every snapshot shows them). */
  paths?: { config: ProcessConfig; stdout: string | undefined; stderr: string | undefined };
  runtimeDirs: string[];
  deleted: boolean;
  /** `subscribeOutput`'s listeners of this process. */
  readonly outputListeners: Set<OutputListener>;
}

interface LaunchOptions {
  readonly automatic: boolean;
  readonly precedingDelayMs: number;
}

/** Resolves when the delay elapsed or the signal aborted (never rejects). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    if (signal.aborted) return done();
    const timer = setTimeout(finish, ms);
    function finish(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", finish);
      done();
    }
    signal.addEventListener("abort", finish, { once: true });
  });
}

/** The first unmet ConditionPathExists, described; undefined when all are met. */
export function unmetCondition(conditions: readonly PathCondition[]): string | undefined {
  const exists = (p: string): boolean => {
    try {
      statSync(p);
      return true;
    } catch {
      return false;
    }
  };
  const render = (c: PathCondition): string =>
    `condition_path_exists=${c.anyOf ? "|" : ""}${c.negate ? "!" : ""}${c.path}`;
  const anyOf = conditions.filter((c) => c.anyOf);
  for (const c of conditions) {
    if (c.anyOf) continue;
    if (exists(c.path) === c.negate) return render(c);
  }
  if (anyOf.length > 0 && !anyOf.some((c) => exists(c.path) !== c.negate)) {
    return anyOf.map(render).join(" or ");
  }
  return undefined;
}

/** Whether `command` resolves to an executable (searching PATH when it has no slash). */
function commandExists(command: string, path: string, cwd: string | undefined): boolean {
  const check = (p: string): boolean => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes("/"))
    return check(isAbsolute(command) ? command : resolve(cwd ?? ".", command));
  return path.split(":").some((dir) => dir !== "" && check(join(dir, command)));
}

export function describeExit(exit: ExitResult): string {
  if (exit.spawnError !== undefined) return exit.spawnError;
  if (exit.signal !== null) return `killed by signal ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

/**
 * One buffer for the reads of every output FIFO: libuv reads into it and the callback is done
 * with the bytes before the next read, so a read allocates nothing and no stream machinery runs
 * (one write per line of a chatty child is one read of a few lines).
 */
const fifoReadBuffer = Buffer.allocUnsafe(64 * 1024);

/**
 * The daemon's end of an output FIFO. `onChunk` gets a view of the shared read buffer, valid
 * only during the call, and returns false to stop the reads until `resume()`. The socket ends
 * and closes at EOF like any other.
 */
function readFifo(fd: number, onChunk: (chunk: Buffer) => boolean): Socket {
  const options: SocketConstructorOpts & Pick<ConnectOpts, "onread"> = {
    fd,
    readable: true,
    writable: false,
    onread: { buffer: fifoReadBuffer, callback: (n) => onChunk(fifoReadBuffer.subarray(0, n)) },
  };
  return new Socket(options);
}

export class Supervisor extends EventEmitter<SupervisorEvents> implements SupervisorApi {
  readonly stateDir: string;
  readonly logDir: string;
  readonly runtimeDir: string;
  private readonly byId = new Map<string, Managed>();
  private readonly byName = new Map<string, Managed>();
  private readonly sinks = new Set<LogSink>();
  private readonly records: RunRecords;
  private readonly fifos: FifoPool;
  private readonly daemon: DaemonIdentity;
  private readonly failureResetMinMs: number;
  private shuttingDown = false;

  constructor(options: SupervisorOptions) {
    super();
    if (typeof options?.stateDir !== "string" || options.stateDir === "") {
      throw new SupervisorError(
        "invalid-argument",
        `options.stateDir: expected a non-empty path, received ${JSON.stringify(options?.stateDir)}`,
      );
    }
    this.stateDir = resolve(options.stateDir);
    this.logDir = resolve(options.logDir ?? join(this.stateDir, "logs"));
    this.runtimeDir =
      options.runtimeDir ?? runtimeDirectoryBase(process.env, process.getuid?.() ?? -1);
    this.records = new RunRecords(join(this.stateDir, "run"));
    this.fifos = new FifoPool(join(this.stateDir, "fifo"));
    this.daemon = daemonIdentity();
    this.failureResetMinMs = options.failureResetMinMs ?? failureResetMinMs;
  }

  // ---------------------------------------------------------------- public API

  async create(
    config: ProcessConfig,
    options?: { source?: ProcessSource; id?: string },
  ): Promise<ProcessInfo> {
    const m = this.define(config, options?.source ?? "api", options?.id);
    this.emit("created", { process: this.snapshot(m) });
    if (config.autoStart) return this.start(m.id);
    return this.snapshot(m);
  }

  async start(idOrName: string): Promise<ProcessInfo> {
    const m = this.find(idOrName);
    await this.startManual(m, new Set());
    return this.snapshot(m);
  }

  async stop(idOrName: string): Promise<ProcessInfo> {
    const m = this.find(idOrName);
    await this.stopManaged(m);
    return this.snapshot(m);
  }

  async restart(idOrName: string): Promise<ProcessInfo> {
    const m = this.find(idOrName);
    await this.stopManaged(m);
    await this.startManual(m, new Set());
    return this.snapshot(m);
  }

  async delete(idOrName: string, options?: { force?: boolean }): Promise<void> {
    const m = this.find(idOrName);
    if (this.isActive(m) && !options?.force) {
      throw new SupervisorError(
        "invalid-state",
        `process "${m.name}" is ${m.state}; stop it first or delete with force`,
      );
    }
    await this.stopManaged(m);
    this.remove(m);
  }

  async update(
    idOrName: string,
    config: ProcessConfig,
    options?: { dryRun?: boolean; restart?: boolean },
  ): Promise<UpdateResult> {
    const m = this.find(idOrName);
    if (config.name !== m.name) {
      throw new SupervisorError(
        "invalid-argument",
        `config.name: expected "${m.name}" (renaming is not supported), received "${config.name}"`,
      );
    }
    this.validate(config);
    const fields = changedFields(m.config, config);
    const updatedFields = fields.filter((f) => hotFields.has(f));
    const restartRequiredFields = fields.filter((f) => !hotFields.has(f));
    if (options?.dryRun || fields.length === 0) {
      return { updatedFields, restartRequiredFields, restarted: false, process: this.snapshot(m) };
    }
    m.config = config;
    this.emit("updated", { process: this.snapshot(m) });
    let restarted = false;
    if (options?.restart && restartRequiredFields.length > 0 && this.isActive(m)) {
      await this.stopManaged(m);
      await this.startManual(m, new Set());
      restarted = true;
    }
    return { updatedFields, restartRequiredFields, restarted, process: this.snapshot(m) };
  }

  list(): ProcessInfo[] {
    const out: ProcessInfo[] = [];
    for (const m of this.byId.values()) out.push(this.snapshot(m));
    return out;
  }

  get(idOrName: string): ProcessInfo {
    return this.snapshot(this.find(idOrName));
  }

  async apply(
    configs: readonly ProcessConfig[],
    options?: { dryRun?: boolean },
  ): Promise<ConfigDiff> {
    const wanted = new Map<string, ProcessConfig>();
    for (const c of configs) {
      if (wanted.has(c.name)) {
        throw new SupervisorError("invalid-argument", `duplicate process name "${c.name}"`);
      }
      this.validate(c);
      wanted.set(c.name, c);
    }
    const added: string[] = [];
    const removed: string[] = [];
    const changed: string[] = [];
    const unchanged: string[] = [];
    for (const m of this.byId.values()) {
      if (m.source !== "config") continue;
      const next = wanted.get(m.name);
      if (!next) removed.push(m.name);
      else if (configsEqual(m.config, next)) unchanged.push(m.name);
      else changed.push(m.name);
    }
    for (const name of wanted.keys()) {
      const existing = this.byName.get(name);
      if (!existing) added.push(name);
      else if (existing.source !== "config") {
        // An API-defined process owns this name; the config entry is ignored.
        this.emit("warning", {
          message: `config process "${name}" ignored: a process created through the API has that name`,
        });
      }
    }
    const diff: ConfigDiff = {
      added: added.sort(),
      removed: removed.sort(),
      changed: changed.sort(),
      unchanged: unchanged.sort(),
    };
    if (options?.dryRun) return diff;

    await Promise.all(
      removed.map(async (name) => {
        const m = this.byName.get(name);
        if (!m) return;
        await this.stopManaged(m);
        this.remove(m);
      }),
    );
    const toStart: Managed[] = [];
    await Promise.all(
      changed.map(async (name) => {
        const m = this.byName.get(name);
        const next = wanted.get(name);
        if (!m || !next) return;
        const wasActive = this.isActive(m);
        m.config = next;
        this.emit("updated", { process: this.snapshot(m) });
        if (wasActive) {
          await this.stopManaged(m);
          toStart.push(m);
        } else if (next.autoStart && m.state === "created") {
          toStart.push(m);
        }
      }),
    );
    for (const name of added) {
      const c = wanted.get(name);
      if (!c) continue;
      const m = this.define(c, "config", undefined);
      this.emit("created", { process: this.snapshot(m) });
      if (c.autoStart) toStart.push(m);
    }
    await this.startOrdered(toStart);
    return diff;
  }

  async recover(): Promise<{ readonly stopped: readonly { name: string; pid: number }[] }> {
    const records = this.records.readAll();
    const currentBoot = bootId();
    const results = await Promise.all(
      records.map(async (r): Promise<{ name: string; pid: number } | undefined> => {
        try {
          if (r.bootId !== currentBoot || this.byId.get(r.id)?.run) return undefined;
          const leader = readProcStat(r.pid);
          const leaderAlive =
            leader !== undefined &&
            leader.state !== "Z" &&
            leader.startTime === r.startTime &&
            leader.pgrp === r.pgid;
          let targets: number[];
          if (leaderAlive) {
            targets = [-r.pgid];
          } else if (leader === undefined || leader.state === "Z") {
            // The leader is gone; members forked after it started may remain in its group.
            targets = groupMembers(r.pgid)
              .filter((s) => s.startTime >= r.startTime)
              .map((s) => s.pid);
          } else {
            targets = []; // pid reused by another process: never touch it
          }
          if (targets.length === 0) return undefined;
          for (const t of targets) signalSafe(t, r.killSignal);
          const alive = (): boolean =>
            leaderAlive ? groupMembers(r.pgid).length > 0 : targets.some((pid) => !isGone(pid));
          const deadline = Date.now() + Math.min(r.timeoutStopSec, 10) * 1000;
          // These are not our children: no exit events to wait on, so poll (once, at startup).
          const never = new AbortController().signal;
          while (alive() && Date.now() < deadline) await sleep(20, never);
          if (alive()) for (const t of targets) signalSafe(t, "SIGKILL");
          return { name: r.name, pid: r.pid };
        } finally {
          this.records.remove(r.id);
        }
      }),
    );
    return { stopped: results.filter((x): x is { name: string; pid: number } => x !== undefined) };
  }

  async usage(idOrName: string): Promise<ResourceUsage | undefined> {
    const m = this.find(idOrName);
    const run = m.run;
    if (!run || run.exit) return undefined;
    return { pid: run.pid, ...groupUsage(run.pid) };
  }

  subscribeOutput(idOrName: string, listener: OutputListener): () => void {
    const listeners = this.find(idOrName).outputListeners;
    // A wrapper of its own, so that subscribing the same function twice needs two unsubscribes.
    const entry: OutputListener = (stream, chunk) => listener(stream, chunk);
    listeners.add(entry);
    return () => listeners.delete(entry);
  }

  async reopenLogs(): Promise<void> {
    const errors: unknown[] = [];
    for (const sink of this.sinks) {
      try {
        sink.reopen();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) {
      throw new SupervisorError("invalid-state", `could not reopen ${errors.length} log file(s)`, {
        cause: errors.length === 1 ? errors[0] : new AggregateError(errors),
      });
    }
  }

  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    try {
      await Promise.all([...this.byId.values()].map((m) => this.stopManaged(m)));
    } finally {
      this.shuttingDown = false;
      await this.fifos.close();
    }
  }

  // ---------------------------------------------------------------- definitions

  private validate(config: ProcessConfig): void {
    if (typeof config?.name !== "string" || config.name === "" || /\s/.test(config.name)) {
      throw new SupervisorError(
        "invalid-argument",
        `config.name: expected a non-empty name without whitespace, received ${JSON.stringify(config?.name)}`,
      );
    }
    if (!Array.isArray(config.argv) || config.argv.length === 0 || config.argv[0] === "") {
      throw new SupervisorError(
        "invalid-argument",
        `config.argv of "${config.name}": expected a non-empty command`,
      );
    }
  }

  private define(config: ProcessConfig, source: ProcessSource, id: string | undefined): Managed {
    this.validate(config);
    if (this.byName.has(config.name)) {
      throw new SupervisorError("already-exists", `process "${config.name}" already exists`);
    }
    const pid = id ?? randomUUID();
    if (this.byId.has(pid)) {
      throw new SupervisorError("already-exists", `process id ${pid} already exists`);
    }
    const m: Managed = {
      id: pid,
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
      deleted: false,
      outputListeners: new Set(),
    };
    this.byId.set(m.id, m);
    this.byName.set(m.name, m);
    // Two output pipes per process ready ahead of its starts (and of its restarts).
    this.fifos.want(Math.min(2 * this.byId.size + 8, maxReadyFifos));
    return m;
  }

  private remove(m: Managed): void {
    m.deleted = true;
    this.byId.delete(m.id);
    this.byName.delete(m.name);
    for (const s of [m.sinks.stdout, m.sinks.stderr]) if (s && !s.isOpen) this.sinks.delete(s);
    this.emit("deleted", { process: this.snapshot(m) });
  }

  private find(idOrName: string): Managed {
    const m = this.byId.get(idOrName) ?? this.byName.get(idOrName);
    if (!m) throw new SupervisorError("not-found", `no process with id or name "${idOrName}"`);
    return m;
  }

  private isActive(m: Managed): boolean {
    return m.run !== undefined || m.launching !== undefined || m.backoffTimer !== undefined;
  }

  private snapshot(m: Managed): ProcessInfo {
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
    };
    if (m.state === "failed" && m.failureReason !== undefined) info.failureReason = m.failureReason;
    if (m.stateReason !== undefined) info.stateReason = m.stateReason;
    if (m.state === "backoff" && m.nextRestartAt) info.nextRestartAt = m.nextRestartAt;
    const run = m.run;
    if (run && !run.exit) {
      info.pid = run.pid;
      info.uptimeMs = Date.now() - run.startedAt.getTime();
    }
    if (m.lastExit) info.lastExit = m.lastExit;
    if (m.startedAt) info.startedAt = m.startedAt;
    if (m.endedAt) info.endedAt = m.endedAt;
    const out = this.sinkPath(m, "stdout");
    const err = this.sinkPath(m, "stderr");
    if (out) info.stdoutPath = out;
    if (err) info.stderrPath = err;
    return info;
  }

  private setState(m: Managed, state: ProcessState): void {
    const previous = m.state;
    if (previous === state) return;
    m.state = state;
    this.emit("state", { process: this.snapshot(m), previous });
    if (state === "stopped" || state === "exited" || state === "failed") this.cascadeBindsTo(m);
  }

  // ---------------------------------------------------------------- starting

  private async startManual(m: Managed, visiting: Set<string>): Promise<void> {
    if (visiting.has(m.name)) return;
    visiting.add(m.name);
    // Wait out whatever is in progress; an already running process is left alone.
    for (;;) {
      if (m.run && !m.run.stopRequested && !m.run.exit) return;
      if (m.launching) {
        await m.launching;
        return;
      }
      if (m.run) {
        await (m.run.stopping ?? m.run.done);
        continue;
      }
      if (m.settling) {
        await m.settling;
        continue;
      }
      break;
    }
    if (m.backoffTimer) {
      clearTimeout(m.backoffTimer);
      m.backoffTimer = undefined;
      m.nextRestartAt = undefined;
    }
    // A manual start resets the start-limit window and the failure counter.
    m.starts = [];
    m.consecutiveFailures = 0;
    // Conflicts: stop the other side first.
    for (const other of this.byId.values()) {
      if (other === m) continue;
      if (m.config.conflicts.includes(other.name) || other.config.conflicts.includes(m.name)) {
        if (this.isActive(other)) await this.stopManaged(other);
      }
    }
    // requires/wants: start dependencies first.
    for (const dep of [...m.config.requires, ...m.config.wants]) {
      const required = m.config.requires.includes(dep);
      const d = this.byName.get(dep);
      if (!d) {
        if (required) return this.failNoRun(m, `required dependency "${dep}" does not exist`);
        continue;
      }
      await this.startManual(d, visiting);
      if (required && d.state !== "running") {
        return this.failNoRun(m, `required dependency "${dep}" is ${d.state}`);
      }
    }
    await this.launch(m, { automatic: false, precedingDelayMs: 0 });
  }

  /** Start a set in after/before order: each waits for its predecessors, the rest in parallel. */
  private async startOrdered(list: readonly Managed[]): Promise<void> {
    const names = new Set(list.map((m) => m.name));
    const started = new Map<string, Promise<void>>();
    const run = (m: Managed, path: ReadonlySet<string>): Promise<void> => {
      const known = started.get(m.name);
      if (known) return known;
      const preds = list.filter(
        (o) =>
          o !== m &&
          names.has(o.name) &&
          !path.has(o.name) &&
          (m.config.after.includes(o.name) || o.config.before.includes(m.name)),
      );
      const next = new Set(path).add(m.name);
      const p = Promise.all(preds.map((o) => run(o, next))).then(() =>
        this.startManual(m, new Set()).catch((e: unknown) => {
          this.emit("warning", {
            process: this.snapshot(m),
            message: `start of "${m.name}" failed: ${(e as Error).message}`,
            cause: e,
          });
        }),
      );
      started.set(m.name, p);
      return p;
    };
    await Promise.all(list.map((m) => run(m, new Set())));
  }

  private failNoRun(m: Managed, reason: string): void {
    m.failureReason = reason;
    m.stateReason = undefined;
    this.setState(m, "failed");
  }

  private launch(m: Managed, options: LaunchOptions): Promise<void> {
    const abort = new AbortController();
    m.launchAbort = abort;
    const p = this.doLaunch(m, options, abort.signal).finally(() => {
      if (m.launching === p) {
        m.launching = undefined;
        m.launchAbort = undefined;
      }
    });
    m.launching = p;
    return p;
  }

  private sinkPath(m: Managed, stream: Stream): string | undefined {
    if (m.paths?.config !== m.config) {
      m.paths = {
        config: m.config,
        stdout: this.resolveSinkPath(m, "stdout"),
        stderr: this.resolveSinkPath(m, "stderr"),
      };
    }
    return m.paths[stream];
  }

  private resolveSinkPath(m: Managed, stream: Stream): string | undefined {
    const target: OutputTarget = m.config[stream];
    if (target.kind === "default") return join(this.logDir, `${m.name}.${stream}.log`);
    if (target.kind === "file") {
      return isAbsolute(target.path)
        ? target.path
        : resolve(m.config.workingDir ?? this.stateDir, target.path);
    }
    return undefined;
  }

  private sinkFor(m: Managed, stream: Stream): LogSink | undefined {
    const path = this.sinkPath(m, stream);
    if (path === undefined) return undefined;
    const current = m.sinks[stream];
    if (current?.path === path) return current;
    const sink = new LogSink(path, (e) =>
      this.emit("warning", {
        process: this.snapshot(m),
        message: `cannot write ${stream} of "${m.name}" to ${path}: ${e.message}`,
        cause: e,
      }),
    );
    m.sinks[stream] = sink;
    this.sinks.add(sink);
    return sink;
  }

  private stdioFor(target: OutputTarget): "pipe" | "inherit" | "ignore" {
    if (target.kind === "inherit") return "inherit";
    if (target.kind === "null") return "ignore";
    return "pipe";
  }

  private switchesUser(config: ProcessConfig): boolean {
    return config.user !== undefined || config.group !== undefined;
  }

  private async doLaunch(m: Managed, opts: LaunchOptions, signal: AbortSignal): Promise<void> {
    const config = m.config;
    m.failureReason = undefined;
    m.stateReason = undefined;
    const unmet = unmetCondition(config.conditionPathExists);
    if (unmet !== undefined) {
      m.stateReason = `condition failed: ${unmet}`;
      this.removeRuntimeDirs(m);
      this.setState(m, opts.automatic || m.state === "exited" ? "exited" : "stopped");
      return;
    }
    const now = Date.now();
    forgetOldStarts(m.starts, now, config.startLimitBurst, config.startLimitIntervalSec);
    m.starts.push(now);
    m.runCount++;
    if (opts.automatic) m.restartCount++;
    this.setState(m, "starting");

    const switchUser = this.switchesUser(config);
    let identity: Identity;
    try {
      identity = switchUser
        ? await resolveIdentity(config.user, config.group, this.daemon.identity)
        : this.daemon.identity;
    } catch (e) {
      // A configuration problem: restarting would not help.
      return this.failNoRun(m, e instanceof IdentityLookupError ? e.message : String(e));
    }
    if (signal.aborted) return this.setState(m, "stopped");
    const owner = switchUser ? { uid: identity.uid, gid: identity.gid } : undefined;

    // Everything below until spawn is synchronous when there are no exec_start_pre hooks, so a
    // restart with restart_sec 0 spawns the replacement in the same tick as the exit.
    const startedAt = new Date();
    const sinks = { stdout: this.sinkFor(m, "stdout"), stderr: this.sinkFor(m, "stderr") };
    const held: LogSink[] = [];
    const release = (): void => {
      for (const s of held.splice(0)) s.release();
    };
    let env: Record<string, string>;
    let plan: LaunchPlan;
    try {
      const extra: Record<string, string> = {};
      if (config.runtimeDirectory.length > 0) {
        extra.RUNTIME_DIRECTORY = this.makeRuntimeDirs(m, identity, owner).join(":");
      }
      env = buildEnvironment(identity, config.environmentFile, config.env, extra);
      if (
        config.workingDir !== undefined &&
        !statSync(config.workingDir, { throwIfNoEntry: false })?.isDirectory()
      ) {
        throw new Error(`working_dir ${config.workingDir} is not a directory`);
      }
      for (const s of [sinks.stdout, sinks.stderr]) {
        if (s) {
          s.acquire(owner);
          held.push(s);
        }
      }
      plan = planLaunch(config.argv, identity, this.daemon, {
        switchUser,
        ambientCapabilities: config.ambientCapabilities,
      });
    } catch (e) {
      release();
      this.removeRuntimeDirs(m);
      if (e instanceof IdentityLookupError) return this.failNoRun(m, e.message);
      return this.completeWithoutRun(m, opts, startedAt, (e as Error).message);
    }

    const context: LaunchContext = { identity, env, switchUser, sinks };
    if (config.execStartPre.length > 0) {
      const deadline =
        config.timeoutStartSec > 0
          ? Date.now() + config.timeoutStartSec * 1000
          : Number.POSITIVE_INFINITY;
      for (const hook of config.execStartPre) {
        const result = await this.runHook(m, hook, context, signal, deadline);
        if (signal.aborted) {
          release();
          this.removeRuntimeDirs(m);
          return this.setState(m, "stopped");
        }
        if (!result.ok) {
          release();
          return this.completeWithoutRun(
            m,
            opts,
            startedAt,
            `exec_start_pre ${JSON.stringify(hook.join(" "))} ${result.description}`,
          );
        }
      }
    }

    if (!commandExists(config.argv[0] ?? "", env.PATH ?? "", config.workingDir)) {
      release();
      return this.completeWithoutRun(m, opts, startedAt, `command not found: ${config.argv[0]}`);
    }

    const outPipe = this.stdioFor(config.stdout) === "pipe" ? this.fifos.take() : undefined;
    const errPipe = this.stdioFor(config.stderr) === "pipe" ? this.fifos.take() : undefined;
    // The child holds the write ends; ours close right after the spawn, so EOF comes with its exit.
    const closeWriteEnds = (): void => {
      for (const p of [outPipe, errPipe]) if (p) closeSync(p.write);
    };
    const closeAllEnds = (): void => {
      closeWriteEnds();
      for (const p of [outPipe, errPipe]) if (p) closeSync(p.read);
    };
    let child: ChildProcess;
    try {
      child = spawn(plan.argv[0] ?? "", plan.argv.slice(1), {
        cwd: config.workingDir,
        env,
        detached: true,
        ...(plan.uid !== undefined ? { uid: plan.uid } : {}),
        ...(plan.gid !== undefined ? { gid: plan.gid } : {}),
        stdio: [
          "ignore",
          outPipe?.write ?? this.stdioFor(config.stdout),
          errPipe?.write ?? this.stdioFor(config.stderr),
        ],
      });
    } catch (e) {
      closeAllEnds();
      release();
      return this.completeWithoutRun(m, opts, startedAt, `spawn failed: ${(e as Error).message}`);
    }
    if (child.pid === undefined) {
      // Spawn failed (the 'error' event carries why).
      closeAllEnds();
      const error = await new Promise<Error>((done) => child.once("error", done));
      release();
      return this.completeWithoutRun(m, opts, startedAt, `spawn failed: ${error.message}`);
    }
    closeWriteEnds();
    const stdout = outPipe
      ? this.outputFromFifo(m, outPipe.read, sinks.stdout, "stdout", owner)
      : this.outputFromStream(m, child.stdout, sinks.stdout, "stdout", owner);
    const stderr = errPipe
      ? this.outputFromFifo(m, errPipe.read, sinks.stderr, "stderr", owner)
      : this.outputFromStream(m, child.stderr, sinks.stderr, "stderr", owner);
    release();

    let resolveDone: (exit: ExitResult) => void = () => {};
    const done = new Promise<ExitResult>((r) => {
      resolveDone = r;
    });
    const run: Run = {
      child,
      pid: child.pid,
      startedAt,
      precedingDelayMs: opts.precedingDelayMs,
      owner,
      spawned: false,
      stopRequested: signal.aborted,
      timedOut: false,
      finished: false,
      pipesClosed: Promise.all(
        [stdout, stderr].map((s) =>
          s && !s.closed ? once(s, "close").catch(() => {}) : undefined,
        ),
      ),
      over: new AbortController(),
      done,
      resolveDone,
    };
    m.run = run;
    m.startedAt = startedAt;
    m.endedAt = undefined;
    this.watch(m, run, context);
    await new Promise<void>((ready) => {
      if (run.spawned || run.finished) return ready();
      child.once("spawn", () => ready());
      void done.then(() => ready());
    });
  }

  /** Child output from its FIFO (the usual case), read into the shared buffer. */
  private outputFromFifo(
    m: Managed,
    fd: number,
    sink: LogSink | undefined,
    name: Stream,
    owner: { uid: number; gid: number } | undefined,
  ): Socket {
    sink?.acquire(owner);
    const socket = readFifo(
      fd,
      this.outputWriter(m, sink, name, () => socket.resume()),
    );
    socket.once("close", () => sink?.release());
    return socket;
  }

  /** Child output from a stream: child.stdout when no FIFO was ready, and hooks. */
  private outputFromStream(
    m: Managed,
    stream: Readable | null,
    sink: LogSink | undefined,
    name: Stream,
    owner: { uid: number; gid: number } | undefined,
  ): Readable | null {
    if (!stream) return null;
    sink?.acquire(owner);
    const write = this.outputWriter(m, sink, name, () => stream.resume());
    stream.on("data", (chunk: Buffer) => {
      if (!write(chunk)) stream.pause();
    });
    stream.once("close", () => sink?.release());
    return stream;
  }

  /**
   * What happens to each chunk of output: to the file (in order, nothing dropped: the source
   * pauses while the file is behind), then to `output` listeners once it is in the file. The
   * chunk may be a view of the shared read buffer: nothing keeps it past the call. Returns false
   * when the source must pause; `resume` is called once the file has caught up.
   */
  private outputWriter(
    m: Managed,
    sink: LogSink | undefined,
    name: Stream,
    resume: () => void,
  ): (chunk: Buffer) => boolean {
    let failed = false;
    return (chunk) => {
      let more = true;
      if (sink && !failed) {
        try {
          if (!sink.write(chunk)) {
            more = false;
            void sink.drained().then(resume);
          }
        } catch (e) {
          failed = true;
          this.emit("warning", {
            process: this.snapshot(m),
            message: `cannot write ${name} of "${m.name}" to ${sink.path}: ${(e as Error).message}`,
            cause: e,
          });
        }
      }
      const everyProcess = this.listenerCount("output") > 0;
      if (everyProcess || m.outputListeners.size > 0) {
        const copy = Buffer.from(chunk);
        const emit = () => {
          for (const listener of m.outputListeners) listener(name, copy);
          if (everyProcess) {
            this.emit("output", { process: this.snapshot(m), stream: name, chunk: copy });
          }
        };
        if (sink?.pending) void sink.flushed().then(emit);
        else emit();
      }
      return more;
    };
  }

  private watch(m: Managed, run: Run, context: LaunchContext): void {
    const child = run.child;
    let drainTimer: NodeJS.Timeout | undefined;
    const finish = (spawnError?: string): void => {
      if (run.finished) return;
      run.finished = true;
      if (drainTimer) clearTimeout(drainTimer);
      this.finishRun(m, run, spawnError);
    };
    child.once("spawn", () => {
      run.spawned = true;
      this.onSpawned(m, run, context);
    });
    child.on("error", (e) => {
      if (!run.spawned) finish(`spawn failed: ${e.message}`);
      else {
        this.emit("warning", { process: this.snapshot(m), message: e.message, cause: e });
      }
    });
    child.once("exit", (code, sig) => {
      run.exit = { code, signal: sig, at: new Date() };
      // No orphans: whatever stayed in the group goes with the main process.
      if (m.config.killMode !== "process") this.signalRun(run, -run.pid, "SIGKILL");
      // Wait for the pipes to drain ('close'), unless something that left the group holds them.
      drainTimer = setTimeout(() => finish(), pipeDrainMs);
    });
    child.once("close", () => {
      if (!run.exit) return;
      // Every byte read from the pipes is in the files before the run is over.
      void run.pipesClosed
        .then(() => Promise.all([context.sinks.stdout?.flushed(), context.sinks.stderr?.flushed()]))
        .then(() => finish());
    });
  }

  private onSpawned(m: Managed, run: Run, context: LaunchContext): void {
    const config = m.config;
    try {
      const st = readProcStat(run.pid);
      if (st && !run.exit) {
        this.records.write({
          id: m.id,
          name: m.name,
          pid: run.pid,
          pgid: run.pid,
          startTime: st.startTime,
          bootId: bootId(),
          killSignal: config.killSignal,
          timeoutStopSec: config.timeoutStopSec,
        });
      }
      if (config.pidfile !== undefined) {
        mkdirSync(dirname(config.pidfile), { recursive: true });
        writeFileSync(config.pidfile, `${run.pid}\n`);
      }
    } catch (e) {
      this.emit("warning", {
        process: this.snapshot(m),
        message: `"${m.name}": ${(e as Error).message}`,
        cause: e,
      });
    }
    if (run.exit || run.finished) return;
    if (!run.stopRequested) this.setState(m, "running");
    if (config.execStartPost.length > 0) {
      void (async () => {
        for (const hook of config.execStartPost) {
          const r = await this.runHook(m, hook, context, run.over.signal, Number.POSITIVE_INFINITY);
          if (!r.ok) {
            this.emit("warning", {
              process: this.snapshot(m),
              message: `exec_start_post ${JSON.stringify(hook.join(" "))} of "${m.name}" ${r.description}`,
            });
            break;
          }
        }
      })();
    }
  }

  /** Run one hook (exec_start_pre/post, exec_stop_post) as the process's user, to its logs. */
  private runHook(
    m: Managed,
    hook: readonly string[],
    context: LaunchContext,
    signal: AbortSignal,
    deadline: number,
  ): Promise<{ ok: boolean; description: string }> {
    const { identity, env, switchUser, sinks } = context;
    return new Promise((done) => {
      let child: ChildProcess;
      try {
        const plan = planLaunch(hook, identity, this.daemon, {
          switchUser,
          ambientCapabilities: m.config.ambientCapabilities,
        });
        child = spawn(plan.argv[0] ?? "", plan.argv.slice(1), {
          cwd: m.config.workingDir,
          env,
          detached: true,
          ...(plan.uid !== undefined ? { uid: plan.uid } : {}),
          ...(plan.gid !== undefined ? { gid: plan.gid } : {}),
          stdio: ["ignore", this.stdioFor(m.config.stdout), this.stdioFor(m.config.stderr)],
        });
      } catch (e) {
        return done({ ok: false, description: `could not run: ${(e as Error).message}` });
      }
      const owner = switchUser ? { uid: identity.uid, gid: identity.gid } : undefined;
      this.outputFromStream(m, child.stdout, sinks.stdout, "stdout", owner);
      this.outputFromStream(m, child.stderr, sinks.stderr, "stderr", owner);
      let timedOut = false;
      const kill = (): void => {
        if (child.pid !== undefined) signalSafe(-child.pid, "SIGKILL");
      };
      const remaining = deadline - Date.now();
      const timer =
        Number.isFinite(remaining) && !Number.isNaN(remaining)
          ? setTimeout(
              () => {
                timedOut = true;
                kill();
              },
              Math.max(0, remaining),
            )
          : undefined;
      signal.addEventListener("abort", kill, { once: true });
      const settle = (r: { ok: boolean; description: string }): void => {
        if (timer) clearTimeout(timer);
        signal.removeEventListener("abort", kill);
        done(r);
      };
      child.once("error", (e) => settle({ ok: false, description: `could not run: ${e.message}` }));
      child.once("exit", (code, sig) => {
        kill(); // remnants of the hook's group
        if (timedOut) settle({ ok: false, description: "timed out (timeout_start_sec)" });
        else if (code === 0) settle({ ok: true, description: "ok" });
        else if (sig) settle({ ok: false, description: `killed by signal ${sig}` });
        else settle({ ok: false, description: `exited with code ${code}` });
      });
    });
  }

  private makeRuntimeDirs(
    m: Managed,
    identity: Identity,
    owner: { uid: number; gid: number } | undefined,
  ): string[] {
    const dirs: string[] = [];
    for (const name of m.config.runtimeDirectory) {
      const dir = resolve(this.runtimeDir, name);
      if (!dir.startsWith(`${resolve(this.runtimeDir)}/`)) {
        throw new Error(`runtime_directory ${name} escapes ${this.runtimeDir}`);
      }
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      if (owner) chownSync(dir, identity.uid, identity.gid);
      dirs.push(dir);
      if (!m.runtimeDirs.includes(dir)) m.runtimeDirs.push(dir);
    }
    return dirs;
  }

  private removeRuntimeDirs(m: Managed): void {
    for (const dir of m.runtimeDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }

  // ---------------------------------------------------------------- exits and restarts

  /** A start that failed before a process existed: counts as a failed run. */
  private completeWithoutRun(
    m: Managed,
    opts: LaunchOptions,
    startedAt: Date,
    reason: string,
  ): void {
    const endedAt = new Date();
    const exit: ExitResult = {
      code: null,
      signal: null,
      stoppedByUs: false,
      timedOut: false,
      spawnError: reason,
      success: false,
      startedAt,
      endedAt,
      durationMs: endedAt.getTime() - startedAt.getTime(),
    };
    m.lastExit = exit;
    m.endedAt = endedAt;
    this.emit("exit", { process: this.snapshot(m), exit });
    this.settle(m, exit, false, opts.precedingDelayMs, undefined);
  }

  private finishRun(m: Managed, run: Run, spawnError: string | undefined): void {
    const endedAt = run.exit?.at ?? new Date();
    const code = run.exit?.code ?? null;
    const signal = run.exit?.signal ?? null;
    const stoppedByUs = run.stopRequested;
    const exit: ExitResult = {
      code,
      signal,
      stoppedByUs,
      timedOut: run.timedOut,
      ...(spawnError !== undefined ? { spawnError } : {}),
      success:
        spawnError === undefined &&
        (stoppedByUs || (code !== null && m.config.successExitStatus.includes(code))),
      startedAt: run.startedAt,
      endedAt,
      durationMs: endedAt.getTime() - run.startedAt.getTime(),
    };
    run.over.abort("exited");
    run.resolveDone(exit);
    this.records.remove(m.id);
    if (m.config.pidfile !== undefined) rmSync(m.config.pidfile, { force: true });
    if (m.run === run) m.run = undefined;
    m.lastExit = exit;
    m.endedAt = endedAt;
    this.emit("exit", { process: this.snapshot(m), exit });
    this.settle(m, exit, stoppedByUs, run.precedingDelayMs, run);
  }

  /** After an exit: exec_stop_post, then the next state (stopped, exited, failed, backoff, or a new run). */
  private settle(
    m: Managed,
    exit: ExitResult,
    stoppedByUs: boolean,
    precedingDelayMs: number,
    run: Run | undefined,
  ): void {
    const hooks = m.config.execStopPost;
    if (hooks.length === 0 || !run) {
      this.decide(m, exit, stoppedByUs, precedingDelayMs);
      return;
    }
    const p = (async () => {
      const switchUser = this.switchesUser(m.config);
      try {
        const identity = switchUser
          ? await resolveIdentity(m.config.user, m.config.group, this.daemon.identity)
          : this.daemon.identity;
        const env = buildEnvironment(identity, m.config.environmentFile, m.config.env, {});
        const sinks = { stdout: this.sinkFor(m, "stdout"), stderr: this.sinkFor(m, "stderr") };
        const context: LaunchContext = { identity, env, switchUser, sinks };
        const never = new AbortController().signal;
        for (const hook of hooks) {
          const r = await this.runHook(m, hook, context, never, this.stopDeadline(m.config));
          if (!r.ok) {
            this.emit("warning", {
              process: this.snapshot(m),
              message: `exec_stop_post ${JSON.stringify(hook.join(" "))} of "${m.name}" ${r.description}`,
            });
          }
        }
      } catch (e) {
        this.emit("warning", {
          process: this.snapshot(m),
          message: (e as Error).message,
          cause: e,
        });
      }
      this.decide(m, exit, stoppedByUs, precedingDelayMs);
    })().finally(() => {
      if (m.settling === p) m.settling = undefined;
    });
    m.settling = p;
  }

  private decide(
    m: Managed,
    exit: ExitResult,
    stoppedByUs: boolean,
    precedingDelayMs: number,
  ): void {
    const config = m.config;
    if (stoppedByUs || this.shuttingDown || m.deleted) {
      this.removeRuntimeDirs(m);
      this.setState(m, "stopped");
      return;
    }
    if (exit.durationMs >= failureResetAfterMs(precedingDelayMs, this.failureResetMinMs))
      m.consecutiveFailures = 0;
    if (exit.success) m.consecutiveFailures = 0;
    else m.consecutiveFailures++;
    const reason = describeExit(exit);
    if (!restartDecision(config.restart, exit)) {
      this.removeRuntimeDirs(m);
      if (exit.success) {
        m.stateReason = reason;
        this.setState(m, "exited");
      } else {
        m.failureReason = reason;
        this.setState(m, "failed");
      }
      return;
    }
    const delayMs = backoffDelayMs(
      config.restartSec,
      config.restartMaxDelaySec,
      m.consecutiveFailures,
    );
    const now = Date.now();
    if (
      startLimitExceeded(
        m.starts,
        now + delayMs,
        config.startLimitBurst,
        config.startLimitIntervalSec,
      )
    ) {
      const n = startsInWindow(m.starts, now + delayMs, config.startLimitIntervalSec).length;
      this.removeRuntimeDirs(m);
      m.failureReason = `start limit hit: ${n} starts within ${config.startLimitIntervalSec} s`;
      this.setState(m, "failed");
      return;
    }
    m.stateReason = `restarting after: ${reason}`;
    this.emit("restart", { process: this.snapshot(m), delayMs });
    if (delayMs === 0) {
      void this.launch(m, { automatic: true, precedingDelayMs: 0 });
      return;
    }
    m.nextRestartAt = new Date(now + delayMs);
    this.setState(m, "backoff");
    m.backoffTimer = setTimeout(() => {
      m.backoffTimer = undefined;
      m.nextRestartAt = undefined;
      void this.launch(m, { automatic: true, precedingDelayMs: delayMs });
    }, delayMs);
  }

  // ---------------------------------------------------------------- stopping

  private async stopManaged(m: Managed): Promise<void> {
    if (m.backoffTimer) {
      clearTimeout(m.backoffTimer);
      m.backoffTimer = undefined;
      m.nextRestartAt = undefined;
      m.stateReason = undefined;
      this.removeRuntimeDirs(m);
      this.setState(m, "stopped");
    }
    if (m.launching && !m.run) {
      m.launchAbort?.abort();
      await m.launching;
    }
    const run = m.run;
    if (run) {
      run.stopRequested = true;
      run.stopping ??= this.killRun(m, run);
      await run.stopping;
    }
    if (m.settling) await m.settling;
  }

  private async killRun(m: Managed, run: Run): Promise<void> {
    if (!run.exit) {
      this.setState(m, "stopping");
      const { killSignal, killMode, timeoutStopSec } = m.config;
      if (killMode === "process" || killMode === "mixed") this.signalRun(run, run.pid, killSignal);
      else this.signalRun(run, -run.pid, killSignal);
      if (Number.isFinite(timeoutStopSec) && timeoutStopSec > 0) {
        await sleep(timeoutStopSec * 1000, run.over.signal);
      } else {
        await run.done;
      }
      if (!run.finished && !run.exit) {
        run.timedOut = true;
        if (killMode === "process") this.signalRun(run, run.pid, "SIGKILL");
        else this.signalRun(run, -run.pid, "SIGKILL");
      }
    }
    await run.done;
  }

  /**
   * Signal a run's process (or group, with a negative pid). A non-root daemon whose capabilities
   * come from `setcap cap_setuid,cap_setgid+ep` (the seed guide's step) has no CAP_KILL: the
   * kernel answers EPERM for a child running as another user. It can still become that user, so
   * the signal is then sent by `kill` spawned with the child's uid/gid.
   */
  private signalRun(run: Run, target: number, sig: NodeJS.Signals): void {
    try {
      signalSafe(target, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EPERM" || run.owner === undefined) throw e;
      const killer = spawn("kill", ["-s", sig.replace(/^SIG/, ""), "--", String(target)], {
        uid: run.owner.uid,
        gid: run.owner.gid,
        stdio: "ignore",
      });
      killer.on("error", () => {});
    }
  }

  /** timeout_stop_sec as a deadline; 0 or infinity wait forever (as in systemd). */
  private stopDeadline(config: ProcessConfig): number {
    const t = config.timeoutStopSec;
    return Number.isFinite(t) && t > 0 ? Date.now() + t * 1000 : Number.POSITIVE_INFINITY;
  }

  private cascadeBindsTo(m: Managed): void {
    for (const other of this.byId.values()) {
      if (other !== m && other.config.bindsTo.includes(m.name) && this.isActive(other)) {
        other.stateReason = `bound to "${m.name}", which is ${m.state}`;
        void this.stopManaged(other);
      }
    }
  }
}
