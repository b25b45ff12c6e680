/**
 * The lifecycle of one process: a start through the launcher, the run it gives (spawn, exit,
 * output drained), the restart decision of policy.ts with its backoff, and a stop through the
 * stopper. It decides which event happened and passes it to `Host.setState`, which checks it
 * against the state machine's table; the other parts do the work. Event-driven throughout:
 * the child's `spawn`/`exit`/`close` events and the backoff timer, no polling.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { type Identity, IdentityLookupError } from "./identity.js";
import { type Launch, type Launcher, unmetCondition } from "./launcher.js";
import type { Host, LaunchContext, Managed, Run } from "./managed.js";
import {
  backoffDelayMs,
  failureResetAfterMs,
  forgetOldStarts,
  restartDecision,
  startLimitExceeded,
  startsInWindow,
} from "./policy.js";
import { Readiness } from "./readiness.js";
import { recordRun } from "./recovery.js";
import type { RunRecords } from "./run-records.js";
import type { PassedSockets } from "./sockets.js";
import { killRemnants, stopRun } from "./stopper.js";
import type { ExitResult } from "./types.js";

/** How long to wait for the output pipes to drain after the main process exited. */
const pipeDrainMs = 500;

export interface LaunchOptions {
  /** An automatic restart, not a manual start. */
  readonly automatic: boolean;
  /** The backoff delay that preceded it (0 for a manual start). */
  readonly precedingDelayMs: number;
}

/** Why a run ended, as failureReason and stateReason say it. */
export function describeExit(exit: ExitResult): string {
  if (exit.spawnError !== undefined) return exit.spawnError;
  if (exit.failure !== undefined) return exit.failure;
  if (exit.signal !== null) return `killed by signal ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

export class Lifecycle {
  /** Set while the supervisor shuts down: every run then ends in `stopped`, never restarts. */
  shuttingDown = false;
  private readonly host: Host;
  private readonly launcher: Launcher;
  private readonly records: RunRecords;
  private readonly failureResetMinMs: number;
  private readonly readiness: Readiness;

  constructor(host: Host, launcher: Launcher, records: RunRecords, failureResetMinMs: number) {
    this.host = host;
    this.launcher = launcher;
    this.records = records;
    this.failureResetMinMs = failureResetMinMs;
    this.readiness = new Readiness(host, {
      kill: (m, run) => this.kill(m, run),
      startPost: (m, run, context) => this.launcher.runStartPost(m, context, run.over.signal),
    });
  }

  // ---------------------------------------------------------------- starting

  /**
   * Waits out a start, a stop or an exit in progress. False when there is nothing to start: the
   * process runs, or the start in progress (now over) was the start.
   */
  async waitIdle(m: Managed): Promise<boolean> {
    for (;;) {
      if (m.run && !m.run.stopRequested && !m.run.exit) return false;
      if (m.launching) {
        await m.launching;
        return false;
      }
      if (m.run) {
        await (m.run.stopping ?? m.run.done);
        continue;
      }
      if (m.settling) {
        await m.settling;
        continue;
      }
      return true;
    }
  }

  /** Before a manual start: no pending restart, a new start-limit window, no failures counted. */
  resetForManualStart(m: Managed): void {
    if (m.backoffTimer) {
      clearTimeout(m.backoffTimer);
      m.backoffTimer = undefined;
      m.nextRestartAt = undefined;
    }
    m.starts = [];
    m.consecutiveFailures = 0;
  }

  /** A start refused before any run (a dependency, the user): `failed`, for `reason`. */
  fail(m: Managed, reason: string): void {
    m.failureReason = reason;
    m.stateReason = undefined;
    this.host.setState(m, "fail");
  }

  /**
   * Starts `m` (in `m.launching`, aborted by `stop`). Resolves once it is ready (as its type
   * says: spawned, READY=1, a oneshot's success), or when the start came to nothing (skipped,
   * refused, cancelled, failed). One start at a time: callers that each found the process idle
   * (`waitIdle` resolves in a later tick) join the start in progress, and a process whose run
   * goes on is not started again.
   */
  launch(m: Managed, options: LaunchOptions): Promise<void> {
    if (m.launching !== undefined) return m.launching;
    if (m.run !== undefined && !m.run.exit && !m.run.stopRequested) return Promise.resolve();
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

  private async doLaunch(m: Managed, opts: LaunchOptions, signal: AbortSignal): Promise<void> {
    const config = m.config;
    if (!this.begin(m, opts)) return;
    let identity: Identity;
    try {
      identity = this.launcher.switchesUser(config)
        ? await this.launcher.identity(config)
        : this.launcher.daemon.identity;
    } catch (e) {
      // A configuration problem: restarting would not help.
      return this.fail(m, e instanceof IdentityLookupError ? e.message : String(e));
    }
    let notifyEnv: Record<string, string>;
    try {
      notifyEnv = await this.host.notifyEnvironment(config);
    } catch (e) {
      return this.fail(m, `sd_notify socket: ${(e as Error).message}`);
    }
    let sockets: PassedSockets;
    try {
      sockets = await this.host.passSockets(m);
    } catch (e) {
      // A configuration or host problem (address in use, privileged port): not for a restart.
      return this.fail(m, (e as Error).message);
    }
    await this.launcher.cgroups.open();
    if (signal.aborted) return this.host.setState(m, "cancel");
    // Everything below until spawn is synchronous when there are no exec_start_pre hooks, so a
    // restart with restart_sec 0 spawns the replacement in the same tick as the exit.
    const startedAt = new Date();
    let launch: Launch;
    try {
      launch = this.launcher.prepare(m, config, identity, notifyEnv, sockets);
    } catch (e) {
      this.launcher.removeRuntimeDirs(m);
      if (e instanceof IdentityLookupError) return this.fail(m, e.message);
      return this.completeWithoutRun(m, opts, startedAt, (e as Error).message);
    }
    if (config.execStartPre.length > 0) {
      const failure = await this.launcher.runStartPre(m, launch, signal);
      if (signal.aborted) {
        this.launcher.release(launch);
        this.launcher.removeRuntimeDirs(m);
        return this.host.setState(m, "cancel");
      }
      if (failure !== undefined) {
        this.launcher.release(launch);
        return this.completeWithoutRun(m, opts, startedAt, failure);
      }
    }
    const run = this.launcher.spawn(m, launch, startedAt, opts.precedingDelayMs, signal.aborted);
    if (typeof run === "string") return this.completeWithoutRun(m, opts, startedAt, run);
    if (run instanceof Promise) return this.completeWithoutRun(m, opts, startedAt, await run);
    m.run = run;
    m.startedAt = startedAt;
    m.endedAt = undefined;
    this.watch(m, run, launch);
    await run.readyOrOver;
  }

  /**
   * A start begins: condition_path_exists is checked (unmet: skipped, false), the start is
   * counted toward the start limit, and the process is `starting`.
   */
  private begin(m: Managed, opts: LaunchOptions): boolean {
    const config = m.config;
    m.failureReason = undefined;
    m.stateReason = undefined;
    const unmet = unmetCondition(config.conditionPathExists);
    if (unmet !== undefined) {
      m.stateReason = `condition failed: ${unmet}`;
      this.launcher.removeRuntimeDirs(m);
      this.host.setState(m, opts.automatic ? "skip-restart" : "skip");
      return false;
    }
    const now = Date.now();
    forgetOldStarts(m.starts, now, config.startLimitBurst, config.startLimitIntervalSec);
    m.starts.push(now);
    m.runCount++;
    if (opts.automatic) m.restartCount++;
    this.host.setState(m, "start");
    return true;
  }

  /** Follows a run's child: spawned, failed to spawn, exited, its output drained. */
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
      else this.host.warn(m, e.message, e);
    });
    const exited = (code: number | null, sig: NodeJS.Signals | null): void => {
      run.exit = { code, signal: sig, at: new Date() };
      // No orphans: whatever stayed in the cgroup (or the group) goes with the main process, and
      // the run is over once the cgroup is empty.
      run.emptied = killRemnants(run, m.config.killMode);
      // Wait for the pipes to drain ('close'), unless something that left the group holds them.
      void run.emptied.then(() => {
        if (!run.finished) drainTimer = setTimeout(() => finish(), pipeDrainMs);
      });
    };
    child.once("exit", (code, sig) => {
      // A forking process's first process (or a notify one that named another MAINPID=) hands
      // the run over to its main process; the run ends with that one.
      if (!this.readiness.handsOver(m, run, code, () => exited(null, null))) exited(code, sig);
    });
    child.once("close", () => {
      if (!run.exit) return;
      // Every byte read from the pipes is in the files before the run is over.
      void run.pipesClosed
        .then(() => Promise.all([context.sinks.stdout?.flushed(), context.sinks.stderr?.flushed()]))
        .then(() => run.emptied)
        .then(() => finish());
    });
  }

  /** The child runs its program: run record, pidfile, then ready at once or awaited. */
  private onSpawned(m: Managed, run: Run, context: LaunchContext): void {
    const config = m.config;
    try {
      recordRun(this.records, m, run);
      // A forking process writes its pidfile itself.
      if (config.pidfile !== undefined && config.processType !== "forking") {
        mkdirSync(dirname(config.pidfile), { recursive: true });
        writeFileSync(config.pidfile, `${run.pid}\n`);
      }
    } catch (e) {
      this.host.warn(m, `"${m.name}": ${(e as Error).message}`, e);
    }
    if (run.exit || run.finished || run.stopRequested) return;
    this.host.setState(m, "spawn");
    this.readiness.spawned(m, run, context);
  }

  /** An sd_notify message of the run (run-watch.ts found the run by the sender's pid). */
  notify(m: Managed, run: Run, fields: ReadonlyMap<string, string>): void {
    this.readiness.notify(m, run, fields);
  }

  /** Ends a run as failed for `reason` (readiness.ts `fail`): health checks, the watchdog. */
  failRun(m: Managed, run: Run, reason: string, restartAnyway = false): void {
    this.readiness.fail(m, run, reason, restartAnyway);
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
    this.host.events.emit("exit", { process: this.host.snapshot(m), exit });
    this.settle(m, exit, false, opts.precedingDelayMs, false, false);
  }

  /** A run is over (exited and its output in the files, or never spawned). */
  private finishRun(m: Managed, run: Run, spawnError: string | undefined): void {
    const endedAt = run.exit?.at ?? new Date();
    const code = run.exit?.code ?? null;
    const signal = run.exit?.signal ?? null;
    const stoppedByUs = run.stopRequested;
    clearTimeout(run.startTimer);
    clearTimeout(run.watchdogTimer);
    run.health?.stop();
    if (!run.ready && !stoppedByUs && spawnError === undefined && m.config.processType === "notify")
      run.failure ??= "exited before it was ready (no READY=1)";
    if (run.adopted && !stoppedByUs) run.failure ??= `main process ${run.pid} exited`;
    const oom = stoppedByUs
      ? undefined
      : run.cgroup?.oomReason(run.oomKillsBefore, m.config.resourceLimits);
    if (oom !== undefined) {
      run.failure = oom;
      m.oomKills++;
    }
    run.cgroup?.remove();
    const failure = stoppedByUs ? undefined : run.failure;
    const exit: ExitResult = {
      code,
      signal,
      stoppedByUs,
      timedOut: run.timedOut,
      ...(spawnError !== undefined ? { spawnError } : {}),
      ...(failure !== undefined ? { failure } : {}),
      ...(oom !== undefined ? { oomKilled: true } : {}),
      success:
        spawnError === undefined &&
        failure === undefined &&
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
    this.host.events.emit("exit", { process: this.host.snapshot(m), exit });
    this.settle(m, exit, stoppedByUs, run.precedingDelayMs, true, run.restartAnyway);
  }

  /** After an exit: exec_stop_post (after a run), then the next state. */
  private settle(
    m: Managed,
    exit: ExitResult,
    stoppedByUs: boolean,
    precedingDelayMs: number,
    afterRun: boolean,
    restartAnyway: boolean,
  ): void {
    if (m.config.execStopPost.length === 0 || !afterRun) {
      this.decide(m, exit, stoppedByUs, precedingDelayMs, restartAnyway);
      return;
    }
    const p = this.launcher
      .runStopPost(m)
      .then(() => this.decide(m, exit, stoppedByUs, precedingDelayMs, restartAnyway))
      .finally(() => {
        if (m.settling === p) m.settling = undefined;
      });
    m.settling = p;
  }

  /**
   * The next state after an exit: stopped, exited, failed, or a restart (policy.ts; always one
   * with `restartAnyway`, still within backoff and the start limit).
   */
  private decide(
    m: Managed,
    exit: ExitResult,
    stoppedByUs: boolean,
    precedingDelayMs: number,
    restartAnyway: boolean,
  ): void {
    if (stoppedByUs || this.shuttingDown || m.deleted) {
      this.launcher.removeRuntimeDirs(m);
      this.host.setState(m, "end-stopped");
      return;
    }
    if (exit.durationMs >= failureResetAfterMs(precedingDelayMs, this.failureResetMinMs))
      m.consecutiveFailures = 0;
    if (exit.success) m.consecutiveFailures = 0;
    else m.consecutiveFailures++;
    const reason = describeExit(exit);
    if (!restartAnyway && !restartDecision(m.config.restart, exit)) {
      this.launcher.removeRuntimeDirs(m);
      if (exit.success) {
        m.stateReason = reason;
        this.host.setState(m, "end-exited");
      } else {
        m.failureReason = reason;
        this.host.setState(m, "end-failed");
      }
      return;
    }
    this.restart(m, reason);
  }

  /** An automatic restart: at once, after the backoff delay, or none past the start limit. */
  private restart(m: Managed, reason: string): void {
    const config = m.config;
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
      this.launcher.removeRuntimeDirs(m);
      m.failureReason = `start limit hit: ${n} starts within ${config.startLimitIntervalSec} s`;
      this.host.setState(m, "end-failed");
      return;
    }
    m.stateReason = `restarting after: ${reason}`;
    this.host.events.emit("restart", { process: this.host.snapshot(m), delayMs });
    if (delayMs === 0) {
      void this.launch(m, { automatic: true, precedingDelayMs: 0 });
      return;
    }
    m.nextRestartAt = new Date(now + delayMs);
    this.host.setState(m, "end-backoff");
    m.backoffTimer = setTimeout(() => {
      m.backoffTimer = undefined;
      m.nextRestartAt = undefined;
      void this.launch(m, { automatic: true, precedingDelayMs: delayMs });
    }, delayMs);
  }

  // ---------------------------------------------------------------- stopping

  /**
   * Stops `m` by its own rules: a pending restart is cancelled, a start in progress aborted,
   * a run stopped (stopper.ts); resolves when the post-exit work is done. Never restarts.
   */
  async stop(m: Managed): Promise<void> {
    if (m.backoffTimer) {
      clearTimeout(m.backoffTimer);
      m.backoffTimer = undefined;
      m.nextRestartAt = undefined;
      m.stateReason = undefined;
      this.launcher.removeRuntimeDirs(m);
      this.host.setState(m, "cancel");
    }
    if (m.launching && !m.run) {
      m.launchAbort?.abort();
      await m.launching;
    }
    const run = m.run;
    if (run) {
      run.stopRequested = true;
      run.stopping ??= this.kill(m, run);
      await run.stopping;
    }
    if (m.settling) await m.settling;
  }

  private async kill(m: Managed, run: Run): Promise<void> {
    if (!run.exit) this.host.setState(m, "stop");
    await stopRun(run, m.config);
  }
}
