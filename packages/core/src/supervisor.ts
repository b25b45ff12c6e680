/**
 * The supervisor: the public API (`SupervisorApi`) and its events, composed of parts with one
 * job each. `Registry` holds the definitions; `Lifecycle` takes one process through start, run,
 * exit, restart and stop, with the `Launcher` (identity, environment, hooks, spawn), the
 * `OutputRelay` (pipes, log files, subscriptions), the stopper and the run records
 * (recovery.ts); the state machine's table checks every state change (`setState`, below); the
 * dependency graph says what starts or stops with what. This file holds the API, the state
 * changes and the dependency walks over the registry.
 */
import { EventEmitter } from "node:events";
import { join, resolve } from "node:path";
import { changedFields, hotFields, type ProcessConfig } from "@procmgr/config";
import { runtimeDirectoryBase } from "@procmgr/platform";
import { Cgroups } from "./cgroups.js";
import { ControlProcesses } from "./control-processes.js";
import {
  bindsTo,
  conflict,
  type DependencyFields,
  dependencies,
  inOrder,
  startsBefore,
  stopsBefore,
} from "./dependency-graph.js";
import { SupervisorError } from "./errors.js";
import { Launcher } from "./launcher.js";
import { Lifecycle } from "./lifecycle.js";
import {
  type Host,
  instanceKey,
  isActive,
  type Managed,
  snapshotOf,
  whileStartPending,
} from "./managed.js";
import { OutputRelay } from "./output-relay.js";
import { failureResetMinMs } from "./policy.js";
import { groupUsage } from "./proc-fs.js";
import { recordRun, stopCgroupLeftovers, stopLeftovers } from "./recovery.js";
import { Registry, validateConfig } from "./registry.js";
import { RunRecords } from "./run-records.js";
import { defaultNotifySocket, RunWatch } from "./run-watch.js";
import { Sockets } from "./sockets.js";
import { isDown, type ProcessEvent, transition } from "./state-machine.js";
import type {
  CgroupStatus,
  ConfigDiff,
  OutputListener,
  ProcessInfo,
  ProcessSource,
  ResourceUsage,
  SupervisorApi,
  SupervisorEvents,
  SupervisorOptions,
  UpdateResult,
} from "./types.js";

export class Supervisor extends EventEmitter<SupervisorEvents> implements SupervisorApi {
  readonly stateDir: string;
  readonly logDir: string;
  readonly runtimeDir: string;
  private readonly registry = new Registry();
  private readonly records: RunRecords;
  private readonly relay: OutputRelay;
  private readonly launcher: Launcher;
  private readonly lifecycle: Lifecycle;
  private readonly watch: RunWatch;
  private readonly cgroups: Cgroups;
  private readonly controls: ControlProcesses;
  private readonly sockets = new Sockets();

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
    this.records = new RunRecords(join(this.stateDir, "run"), (w) => this.emit("warning", w));
    const host: Host = {
      events: this,
      snapshot: (m) => this.snapshot(m),
      warn: (m, message, cause) => this.warn(m, message, cause),
      setState: (m, event) => this.setState(m, event),
      notifyEnvironment: (config) => this.watch.environment(config),
      onReady: (m, run) => this.watch.onReady(m, run),
      watchdog: (m, run, trigger) => this.watch.watchdog(m, run, trigger),
      recordRun: (m, run) => recordRun(this.records, m, run),
      passSockets: (m) => this.sockets.forRun(m.id, m.config),
    };
    const dirs = { stateDir: this.stateDir, logDir: this.logDir };
    this.relay = new OutputRelay(host, { ...options, ...dirs });
    this.cgroups = new Cgroups(options.cgroups !== false, instanceKey(this.stateDir));
    this.controls = new ControlProcesses(
      this.cgroups,
      new RunRecords(join(this.stateDir, "control"), (w) => this.emit("warning", w)),
      (message) => this.emit("warning", { message }),
    );
    this.launcher = new Launcher(host, this.relay, this.runtimeDir, this.controls);
    this.lifecycle = new Lifecycle(
      host,
      this.launcher,
      this.records,
      options.failureResetMinMs ?? failureResetMinMs,
    );
    this.watch = new RunWatch(
      host,
      this.lifecycle,
      () => this.registry.values(),
      this.launcher.daemon,
      this.controls,
      options.notifySocket ?? defaultNotifySocket(this.runtimeDir, instanceKey(this.stateDir)),
    );
  }

  // ---------------------------------------------------------------- public API

  async create(
    config: ProcessConfig,
    options?: { source?: ProcessSource; id?: string },
  ): Promise<ProcessInfo> {
    await this.cgroups.open();
    const m = this.define(config, options?.source ?? "api", options?.id);
    if (!config.autoStart) {
      this.emit("created", { process: this.snapshot(m) });
      this.warnUnenforced(m);
      this.armOnConnect(m);
      return this.snapshot(m);
    }
    return whileStartPending(m, () => {
      this.emit("created", { process: this.snapshot(m) });
      this.warnUnenforced(m);
      return this.start(m.id);
    });
  }

  async start(idOrName: string): Promise<ProcessInfo> {
    const m = this.registry.find(idOrName);
    await this.startManual(m, new Set());
    return this.snapshot(m);
  }

  async stop(idOrName: string): Promise<ProcessInfo> {
    const m = this.registry.find(idOrName);
    await this.lifecycle.stop(m);
    return this.snapshot(m);
  }

  async restart(idOrName: string): Promise<ProcessInfo> {
    const m = this.registry.find(idOrName);
    await whileStartPending(m, async () => {
      await this.lifecycle.stop(m);
      await this.startManual(m, new Set());
    });
    return this.snapshot(m);
  }

  async delete(idOrName: string, options?: { force?: boolean }): Promise<void> {
    const m = this.registry.find(idOrName);
    if (isActive(m) && !options?.force) {
      throw new SupervisorError(
        "invalid-state",
        `process "${m.name}" is ${m.state}; stop it first or delete with force`,
      );
    }
    await this.removeStopped(m);
  }

  async update(
    idOrName: string,
    config: ProcessConfig,
    options?: { dryRun?: boolean; restart?: boolean },
  ): Promise<UpdateResult> {
    const m = this.registry.find(idOrName);
    if (config.name !== m.name) {
      throw new SupervisorError(
        "invalid-argument",
        `config.name: expected "${m.name}" (renaming is not supported), received "${config.name}"`,
      );
    }
    validateConfig(config);
    await this.cgroups.open();
    const fields = changedFields(m.config, config);
    const updatedFields = fields.filter((f) => hotFields.has(f));
    const restartRequiredFields = fields.filter((f) => !hotFields.has(f));
    if (options?.dryRun || fields.length === 0) {
      return { updatedFields, restartRequiredFields, restarted: false, process: this.snapshot(m) };
    }
    if (fields.includes("resource_limits")) this.setLimits(m, config);
    m.config = config;
    this.socketsChanged(m, fields);
    if (fields.includes("resource_limits")) this.warnUnenforced(m);
    if (fields.includes("health_check")) this.watch.healthCheckChanged(m);
    if (fields.includes("log_max_size") || fields.includes("log_max_files")) {
      this.relay.rotationChanged(m);
    }
    this.emit("updated", { process: this.snapshot(m) });
    let restarted = false;
    if (options?.restart && restartRequiredFields.length > 0 && isActive(m)) {
      await whileStartPending(m, async () => {
        await this.lifecycle.stop(m);
        await this.startManual(m, new Set());
      });
      restarted = true;
    }
    return { updatedFields, restartRequiredFields, restarted, process: this.snapshot(m) };
  }

  list(): ProcessInfo[] {
    const out: ProcessInfo[] = [];
    for (const m of this.registry.values()) out.push(this.snapshot(m));
    return out;
  }

  get(idOrName: string): ProcessInfo {
    return this.snapshot(this.registry.find(idOrName));
  }

  async apply(
    configs: readonly ProcessConfig[],
    options?: { dryRun?: boolean; wait?: boolean },
  ): Promise<ConfigDiff> {
    const { diff, wanted, shadowed } = this.registry.plan(configs);
    for (const name of shadowed) {
      // An API-defined process owns this name; the config entry is ignored.
      this.emit("warning", {
        message: `config process "${name}" ignored: a process created through the API has that name`,
      });
    }
    if (options?.dryRun) return diff;
    await this.cgroups.open();

    // Removed processes stop dependents first, as at shutdown.
    const removed = diff.removed.flatMap((name) => this.registry.getByName(name) ?? []);
    await this.inOrder(removed, stopsBefore, "stop", (m) => this.removeStopped(m));
    const toStart: Managed[] = [];
    await Promise.all(
      diff.changed.map(async (name) => {
        const m = this.registry.getByName(name);
        const next = wanted.get(name);
        if (!m || !next) return;
        const wasActive = isActive(m);
        const fields = changedFields(m.config, next);
        m.config = next;
        this.emit("updated", { process: this.snapshot(m) });
        this.warnUnenforced(m);
        this.socketsChanged(m, fields);
        if (wasActive) {
          await this.lifecycle.stop(m);
          toStart.push(m);
        } else if (next.autoStart && m.state === "created") {
          toStart.push(m);
        }
      }),
    );
    for (const name of diff.added) {
      const c = wanted.get(name);
      if (!c) continue;
      const m = this.define(c, "config", undefined);
      this.emit("created", { process: this.snapshot(m) });
      this.warnUnenforced(m);
      if (c.autoStart) toStart.push(m);
      else this.armOnConnect(m);
    }
    const started = this.startOrdered(toStart);
    if (options?.wait !== false) await started;
    return diff;
  }

  async recover(): Promise<{ readonly stopped: readonly { name: string; pid: number }[] }> {
    await this.cgroups.open();
    const running = (name: string): boolean => this.registry.getByName(name)?.run !== undefined;
    const controls = await this.controls.recover();
    const byCgroup = await stopCgroupLeftovers(this.cgroups, this.records, running);
    const byRecord = await stopLeftovers(
      this.records,
      (id) => this.registry.getById(id)?.run !== undefined,
    );
    return { stopped: [...controls, ...byCgroup.stopped, ...byRecord.stopped] };
  }

  async usage(idOrName: string): Promise<ResourceUsage | undefined> {
    const run = this.registry.find(idOrName).run;
    if (!run || run.exit) return undefined;
    if (run.cgroup !== undefined) return { pid: run.pid, ...run.cgroup.usage() };
    return { pid: run.pid, source: "process group", ...groupUsage(run.pgid) };
  }

  briefUsage(idOrName: string): { cpuSeconds?: number; memoryBytes?: number } | undefined {
    const run = this.registry.find(idOrName).run;
    if (!run || run.exit) return undefined;
    return run.cgroup?.brief();
  }

  async cgroupStatus(): Promise<CgroupStatus> {
    const setup = await this.cgroups.open();
    return { active: setup.layout !== undefined, summary: setup.summary };
  }

  subscribeOutput(idOrName: string, listener: OutputListener): () => void {
    return this.relay.subscribe(this.registry.find(idOrName), listener);
  }

  reopenLogs(): Promise<void> {
    return this.relay.reopen();
  }

  /**
   * Stops every process, dependents before what they depend on (the start order reversed). For
   * good: no process starts afterwards (a reload or a start still in progress would leave it
   * running past the daemon's exit).
   */
  async shutdown(): Promise<void> {
    this.lifecycle.shuttingDown = true;
    try {
      await this.inOrder([...this.registry.values()], stopsBefore, "stop", (m) =>
        this.lifecycle.stop(m),
      );
    } finally {
      await this.watch.close();
      await this.relay.close();
      await this.controls.close();
      this.cgroups.close();
      this.sockets.closeAll();
    }
  }

  // ---------------------------------------------------------------- definitions and events

  private define(config: ProcessConfig, source: ProcessSource, id: string | undefined): Managed {
    const m = this.registry.define(config, source, id);
    // Two output pipes per process ready ahead of its starts (and of its restarts).
    this.relay.reserve(this.registry.size);
    return m;
  }

  /** Writes changed limits to a running process's cgroup; throws what the kernel refused. */
  private setLimits(m: Managed, config: ProcessConfig): void {
    try {
      m.run?.cgroup?.setLimits(config.resourceLimits);
    } catch (e) {
      throw new SupervisorError("invalid-argument", `process "${m.name}": ${(e as Error).message}`);
    }
  }

  /** A `warning` when limits of `m` cannot be enforced here. */
  private warnUnenforced(m: Managed): void {
    const problem = this.cgroups.unenforced(m.config);
    if (problem !== undefined) this.warn(m, problem);
  }

  /**
   * Stops `m` and forgets it. It is marked deleted first, so no start (a client's, a restart's)
   * slips in between its stop and its removal: that run would go on, listed nowhere.
   */
  private async removeStopped(m: Managed): Promise<void> {
    m.deleted = true;
    await this.lifecycle.stop(m);
    this.remove(m);
  }

  /** Forgets `m`, once (two deletes of one process may both get here). */
  private remove(m: Managed): void {
    if (this.registry.getById(m.id) !== m) return;
    this.sockets.close(m.id);
    this.registry.remove(m);
    this.relay.forget(m);
    this.emit("deleted", { process: this.snapshot(m) });
  }

  private snapshot(m: Managed): ProcessInfo {
    return snapshotOf(
      m,
      this.cgroups.enforcement(m.config, m.run?.cgroup, m.cgroupProblem),
      (stream) => this.relay.destination(m, stream),
    );
  }

  private warn(m: Managed, message: string, cause?: unknown): void {
    const info = this.snapshot(m);
    this.emit(
      "warning",
      cause === undefined ? { process: info, message } : { process: info, message, cause },
    );
  }

  /**
   * The one place a state changes (as systemd's service_set_state()): the move is checked
   * against the state machine's table (an illegal one throws `invalid-state`); when the state
   * changed, `state` is emitted, and when it is down (stopped, exited, failed) the processes
   * bound to it (binds_to) are stopped.
   */
  private setState(m: Managed, event: ProcessEvent): void {
    const previous = m.state;
    const state = transition(previous, event, m.name);
    if (state === previous) return;
    m.state = state;
    this.emit("state", { process: this.snapshot(m), previous });
    if (isDown(state)) {
      this.cascadeBindsTo(m);
      this.armOnConnect(m);
    }
  }

  /**
   * start_on_connect: while `m` is down, its sockets are held and the first connection starts
   * it (the connection waits in the backlog for the program).
   */
  private armOnConnect(m: Managed): void {
    if (!m.config.startOnConnect || m.deleted || this.lifecycle.shuttingDown || isActive(m)) return;
    this.sockets
      .arm(m.id, m.config, () => {
        this.start(m.id).catch((e: unknown) => this.warn(m, (e as Error).message, e));
      })
      .catch((e: unknown) => {
        // Its sockets cannot be opened: as a start would fail (once; a failed one is only told).
        if (m.state === "failed" || isActive(m)) this.warn(m, (e as Error).message, e);
        else this.lifecycle.fail(m, (e as Error).message);
      });
  }

  /** After a definition changed: sockets no longer wanted are closed, start_on_connect re-armed. */
  private socketsChanged(m: Managed, fields: readonly string[]): void {
    if (!fields.includes("sockets") && !fields.includes("start_on_connect")) return;
    if (isActive(m)) return; // its restart (or next start) takes the new sockets
    this.sockets.close(m.id);
    this.armOnConnect(m);
  }

  // ---------------------------------------------------------------- dependencies

  /**
   * A manual start: waits out what is in progress, stops the processes it conflicts with,
   * starts its requires/wants first (a required one that does not reach `running` fails it),
   * then launches it.
   */
  private async startManual(m: Managed, visiting: Set<string>): Promise<void> {
    if (visiting.has(m.name)) return;
    visiting.add(m.name);
    if (!(await this.lifecycle.waitIdle(m))) return;
    this.lifecycle.resetForManualStart(m);
    for (const other of this.registry.values()) {
      if (other !== m && conflict(m.config, other.config) && isActive(other)) {
        await this.lifecycle.stop(other);
      }
    }
    for (const dep of dependencies(m.config)) {
      const d = this.registry.getByName(dep.name);
      if (!d) {
        if (!dep.required) continue;
        return this.lifecycle.fail(m, `required dependency "${dep.name}" does not exist`);
      }
      await this.startManual(d, visiting);
      const unmet = await this.watch.unmetDependency(d);
      if (dep.required && unmet !== undefined) {
        return this.lifecycle.fail(m, `required dependency "${dep.name}" ${unmet}`);
      }
    }
    await this.lifecycle.launch(m, { automatic: false, precedingDelayMs: 0 });
  }

  /** Starts a set in after/before order: each once its predecessors are done, the rest at once. */
  private startOrdered(list: readonly Managed[]): Promise<void> {
    return this.inOrder(list, startsBefore, "start", (m) => this.startManual(m, new Set()));
  }

  /** `action` on each of a set in `precedes` order (dependency-graph.ts); failures are warnings. */
  private inOrder(
    list: readonly Managed[],
    precedes: (first: DependencyFields, then: DependencyFields) => boolean,
    what: string,
    action: (m: Managed) => Promise<void>,
  ): Promise<void> {
    return inOrder(list, precedes, (m) =>
      action(m).catch((e: unknown) => {
        this.emit("warning", {
          process: this.snapshot(m),
          message: `${what} of "${m.name}" failed: ${(e as Error).message}`,
          cause: e,
        });
      }),
    );
  }

  /** `m` is down: the processes bound to it stop. */
  private cascadeBindsTo(m: Managed): void {
    for (const other of this.registry.values()) {
      if (other !== m && bindsTo(other.config, m.name) && isActive(other)) {
        other.stateReason = `bound to "${m.name}", which is ${m.state}`;
        void this.lifecycle.stop(other);
      }
    }
  }
}
