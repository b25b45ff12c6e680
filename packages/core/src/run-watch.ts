/**
 * What watches a run once it is up, beyond its exit: the sd_notify messages of notify processes
 * (one socket for the supervisor, each message routed to the run whose process tree sent it),
 * the watchdog of those that ask for one, and the health check (health-monitor.ts). The
 * lifecycle decides what a message or a failed check does to the run; this module finds the run
 * and keeps the timers and monitors.
 */
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ProcessConfig } from "@procmgr/config";
import { type NotifyMessage, type NotifySocket, openNotifySocket } from "@procmgr/platform";
import type { ControlProcesses } from "./control-processes.js";
import { HealthMonitor, type HealthStatus } from "./health-monitor.js";
import type { DaemonIdentity } from "./identity.js";
import type { Lifecycle } from "./lifecycle.js";
import type { Host, Managed, Run } from "./managed.js";
import { readProcStat } from "./proc-fs.js";

/** The default notify socket of a supervisor: under the runtime directory, one per state dir. */
export function defaultNotifySocket(runtimeDir: string, key: string): string {
  return join(runtimeDir, "procmgr", `notify-${key}.sock`);
}

export class RunWatch {
  private readonly host: Host;
  private readonly lifecycle: Lifecycle;
  private readonly processes: () => Iterable<Managed>;
  private readonly daemon: DaemonIdentity;
  private readonly controls: ControlProcesses;
  private readonly notifyPath: string;
  private socket: Promise<NotifySocket> | undefined;
  /** Notify processes by the main pid of their run (`indexRuns`); entries are checked on use. */
  private readonly runsByPid = new Map<number, Managed>();

  constructor(
    host: Host,
    lifecycle: Lifecycle,
    processes: () => Iterable<Managed>,
    daemon: DaemonIdentity,
    controls: ControlProcesses,
    notifyPath: string,
  ) {
    this.host = host;
    this.lifecycle = lifecycle;
    this.processes = processes;
    this.daemon = daemon;
    this.controls = controls;
    this.notifyPath = notifyPath;
  }

  /**
   * What a run of `config` gets in its environment to speak sd_notify: NOTIFY_SOCKET (a notify
   * process), WATCHDOG_USEC (with watchdog_sec). Opens the socket at the first notify process.
   */
  async environment(config: ProcessConfig): Promise<Record<string, string>> {
    if (config.processType !== "notify") return {};
    const socket = await this.openSocket();
    const env: Record<string, string> = { NOTIFY_SOCKET: socket.path };
    if (config.watchdogSec > 0) env.WATCHDOG_USEC = String(Math.round(config.watchdogSec * 1e6));
    return env;
  }

  private openSocket(): Promise<NotifySocket> {
    if (this.socket === undefined) {
      mkdirSync(dirname(this.notifyPath), { recursive: true, mode: 0o755 });
      this.socket = openNotifySocket(this.notifyPath, (message) => this.route(message), {
        onDrop: (drop) =>
          this.host.events.emit("warning", { message: `sd_notify: ${drop.message}` }),
        onError: (error) => {
          this.socket = undefined;
          this.host.events.emit("warning", { message: error.message, cause: error });
        },
      });
      this.socket.catch(() => {
        this.socket = undefined;
      });
    }
    return this.socket;
  }

  /**
   * A message goes to the notify process whose run's tree holds its sender: the sender itself
   * or its nearest ancestor that is the main process of a run (one /proc read per generation).
   * Else it is dropped, with a warning.
   */
  private route(message: NotifyMessage): void {
    let found = this.runOf(message.pid);
    if (found === undefined) {
      this.indexRuns();
      found = this.runOf(message.pid);
    }
    if (found !== undefined) {
      this.lifecycle.notify(found.m, found.run, message.fields);
      return;
    }
    this.host.events.emit("warning", {
      message: `sd_notify: message from pid ${message.pid} (uid ${message.uid}) dropped: not from a notify process the supervisor runs`,
    });
  }

  /** The live notify run whose main process is `pid` or its nearest ancestor, by the index. */
  private runOf(pid: number): { m: Managed; run: Run } | undefined {
    for (let generation = 0; pid > 1 && generation < 64; generation++) {
      const m = this.runsByPid.get(pid);
      const run = m?.run;
      if (m !== undefined && run !== undefined && run.pid === pid && !run.exit) return { m, run };
      pid = readProcStat(pid)?.ppid ?? 0;
    }
    return undefined;
  }

  /**
   * Indexes the notify runs by main pid. Done again only when a message finds no run (a new
   * run's first message, a stranger's): a keep-alive costs a lookup, not a walk of every process.
   */
  private indexRuns(): void {
    this.runsByPid.clear();
    for (const m of this.processes()) {
      const run = m.run;
      if (m.config.processType === "notify" && run !== undefined && !run.exit) {
        this.runsByPid.set(run.pid, m);
      }
    }
  }

  /** A run is ready: its watchdog starts, and its health check. */
  onReady(m: Managed, run: Run): void {
    this.armWatchdog(m, run);
    this.startHealth(m, run);
  }

  /**
   * The health check of `m` changed (an update, which applies it live): the check of its ready
   * run, if any, is stopped and the new one, if any, starts afresh (status unknown, counters at
   * zero, a new start period).
   */
  healthCheckChanged(m: Managed): void {
    const run = m.run;
    if (run === undefined || !run.ready || run.exit || run.stopRequested) return;
    run.health?.stop();
    delete run.health;
    for (const waiter of run.healthWaiters.splice(0)) waiter();
    this.startHealth(m, run);
  }

  private startHealth(m: Managed, run: Run): void {
    const check = m.config.healthCheck;
    if (check === undefined) return;
    const context = run.context;
    let status: HealthStatus = "unknown";
    const monitor = new HealthMonitor({
      check,
      target:
        context === undefined
          ? undefined
          : {
              identity: context.identity,
              switchUser: context.switchUser,
              env: context.env,
              cwd: m.config.workingDir,
              ambientCapabilities: m.config.ambientCapabilities,
              daemon: this.daemon,
              control: (plan) => this.controls.begin(m.name, plan),
            },
      onChange: (snapshot) => {
        if (run.health !== monitor) return;
        for (const waiter of run.healthWaiters.splice(0)) waiter();
        if (snapshot.status === status) return;
        status = snapshot.status;
        this.host.events.emit("health", { process: this.host.snapshot(m), health: snapshot });
      },
      onRestartNeeded: (reason) => {
        if (run.health === monitor) this.lifecycle.failRun(m, run, reason, true);
      },
    });
    run.health = monitor;
    monitor.start();
  }

  /**
   * Why the started dependency `d` does not let its dependents start, or undefined when it
   * does: it is running (and healthy, with a health check: waited for), or a oneshot that is
   * done (exited with success).
   */
  async unmetDependency(d: Managed): Promise<string | undefined> {
    if (d.state === "running") {
      const health = await this.settledHealth(d);
      if (health === "unhealthy")
        return `is unhealthy: ${d.run?.health?.snapshot().lastResult?.detail ?? ""}`;
      if (health === "healthy" || d.state === "running") return undefined;
    }
    if (d.state === "exited" && d.config.processType === "oneshot" && d.lastExit?.success)
      return undefined;
    if (d.state === "failed") return `failed: ${d.failureReason ?? "unknown reason"}`;
    return `is ${d.state}`;
  }

  /**
   * Resolves with the health of `m`'s run once it is known (healthy or unhealthy), or
   * undefined when the run ends first (or has no health check).
   */
  async settledHealth(m: Managed): Promise<HealthStatus | undefined> {
    for (;;) {
      const run = m.run;
      if (run === undefined || run.exit || run.health === undefined) return undefined;
      const status = run.health.snapshot().status;
      if (status !== "unknown") return status;
      await new Promise<void>((wake) => {
        run.healthWaiters.push(wake);
        void run.done.then(() => wake());
      });
    }
  }

  /** WATCHDOG=1 re-arms the watchdog; WATCHDOG=trigger fails the run at once. */
  watchdog(m: Managed, run: Run, trigger: boolean): void {
    if (trigger) {
      this.lifecycle.failRun(m, run, "watchdog triggered by the process (WATCHDOG=trigger)", true);
      return;
    }
    this.armWatchdog(m, run);
  }

  private armWatchdog(m: Managed, run: Run): void {
    clearTimeout(run.watchdogTimer);
    const sec = m.config.watchdogSec;
    if (m.config.processType !== "notify" || !(sec > 0) || run.exit) return;
    run.watchdogTimer = setTimeout(
      () => this.lifecycle.failRun(m, run, `watchdog timeout: no WATCHDOG=1 within ${sec}s`, true),
      sec * 1000,
    );
  }

  /** Closes the notify socket (after the last run is over). */
  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket !== undefined) await (await socket.catch(() => undefined))?.close();
  }
}
