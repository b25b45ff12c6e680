/**
 * When a run is ready, as its process type says, and what the program tells of itself:
 *
 * - `simple`: once the program is executed (the child's `spawn`);
 * - `oneshot`: never `running`; its successful exit is its readiness (the lifecycle ends it in
 *   `exited`, done);
 * - `notify`: on READY=1 from its process tree (sd_notify, routed by run-watch.ts), with
 *   STATUS=, MAINPID=, EXTEND_TIMEOUT_USEC=, WATCHDOG=1;
 * - `forking`: when the first process exited with success and the pidfile names the main
 *   process, which the run then follows (`adopt`) as its main process.
 *
 * Until then the process is `starting`, for timeout_start_sec at most: past it the run fails
 * ("not ready within 90s") and is stopped by its stop rules. A main process that is not our
 * child (forking, MAINPID=) gives no exit event: its end is seen by polling /proc once a second
 * (cgroups will make this event-driven).
 */
import { readFileSync } from "node:fs";
import type { Host, LaunchContext, Managed, Run } from "./managed.js";
import { isInProcessTree, type ProcStat, readProcStat } from "./proc-fs.js";

/** How often a main process that is not our child is looked for in /proc. */
const mainPollMs = 1000;
/** How often a forking process's pidfile is looked for after its first process exited. */
const pidfilePollMs = 50;

export interface ReadinessActions {
  /** Stops a run by its stop rules (the lifecycle's kill). */
  kill(m: Managed, run: Run): Promise<void>;
  /** exec_start_post, once the run is ready. */
  startPost(m: Managed, run: Run, context: LaunchContext): void;
}

export class Readiness {
  private readonly host: Host;
  private readonly actions: ReadinessActions;

  constructor(host: Host, actions: ReadinessActions) {
    this.host = host;
    this.actions = actions;
  }

  /** The child runs its program: ready at once (simple), or awaited within timeout_start_sec. */
  spawned(m: Managed, run: Run, context: LaunchContext): void {
    run.context = context;
    if (m.config.processType === "simple") this.ready(m, run);
    else this.armStartTimer(m, run, m.config.timeoutStartSec);
  }

  /**
   * The run is ready: `running`, the start timer off, exec_start_post started (as systemd runs
   * ExecStartPost once the service is up), the watchdog and the health check begin.
   */
  private ready(m: Managed, run: Run): void {
    if (run.ready || run.exit || run.stopRequested) return;
    run.ready = true;
    clearTimeout(run.startTimer);
    this.host.setState(m, "ready");
    run.resolveReady();
    this.host.onReady(m, run);
    if (run.context !== undefined && m.config.execStartPost.length > 0) {
      this.actions.startPost(m, run, run.context);
    }
  }

  /** (Re)arms the start timer: past `seconds` the start fails (0 or infinity: no limit). */
  private armStartTimer(m: Managed, run: Run, seconds: number): void {
    clearTimeout(run.startTimer);
    if (!Number.isFinite(seconds) || seconds <= 0) return;
    run.startTimer = setTimeout(
      () => this.fail(m, run, `not ready within ${seconds}s`),
      seconds * 1000,
    );
  }

  /**
   * An sd_notify message of the run (run-watch.ts checked it came from its tree): READY=1,
   * STATUS=, MAINPID=, EXTEND_TIMEOUT_USEC=, WATCHDOG=1 (or trigger).
   */
  notify(m: Managed, run: Run, fields: ReadonlyMap<string, string>): void {
    if (run.exit || run.finished) return;
    const status = fields.get("STATUS");
    if (status !== undefined) run.statusText = status;
    const mainPid = Number(fields.get("MAINPID"));
    if (Number.isInteger(mainPid) && mainPid > 0 && isInProcessTree(mainPid, run.pid)) {
      run.announcedMainPid = mainPid;
    }
    const extend = Number(fields.get("EXTEND_TIMEOUT_USEC"));
    if (!run.ready && Number.isFinite(extend) && extend > 0) {
      this.armStartTimer(m, run, extend / 1e6);
    }
    const watchdog = fields.get("WATCHDOG");
    if (watchdog === "1" || watchdog === "trigger") {
      this.host.watchdog(m, run, watchdog === "trigger");
    }
    // What a running program says it does: shown as the reason of its state.
    if (fields.get("RELOADING") === "1") m.stateReason = "reloading (RELOADING=1)";
    if (fields.get("STOPPING") === "1") m.stateReason = "stopping by itself (STOPPING=1)";
    if (fields.get("READY") === "1" && m.config.processType === "notify") {
      if (m.stateReason?.startsWith("reloading") === true) m.stateReason = undefined;
      this.ready(m, run);
    }
  }

  /**
   * Ends a run as failed for `reason` (whatever its exit status): stopped by its stop rules,
   * then restart policy and start limit apply; `restartAnyway` restarts it whatever the policy.
   */
  fail(m: Managed, run: Run, reason: string, restartAnyway = false): void {
    if (run.exit || run.finished || run.stopRequested) return;
    run.failure ??= reason;
    run.restartAnyway ||= restartAnyway;
    clearTimeout(run.startTimer);
    run.stopping ??= this.actions.kill(m, run);
  }

  /**
   * The child exited: whether its run goes on with another main process. A forking process's
   * first process that exited with success hands over to the process its pidfile names; a
   * notify process's to the one MAINPID= named. `ended` is called once that one is gone (or
   * was never found: the run then failed).
   */
  handsOver(m: Managed, run: Run, code: number | null, ended: () => void): boolean {
    if (run.stopRequested || run.failure !== undefined) return false;
    const config = m.config;
    if (config.processType === "notify" && run.announcedMainPid !== undefined) {
      const pid = run.announcedMainPid;
      const st = readProcStat(pid);
      if (st === undefined) return false;
      this.follow(m, run, st, ended);
      return true;
    }
    if (config.processType !== "forking" || run.ready) return false;
    if (code === null || !config.successExitStatus.includes(code)) return false;
    void this.adoptFromPidfile(m, run, config.pidfile ?? "", ended);
    return true;
  }

  /** Reads the pidfile until it names a live process (within the start timer), then follows it. */
  private async adoptFromPidfile(m: Managed, run: Run, path: string, ended: () => void) {
    for (;;) {
      if (run.stopRequested || run.failure !== undefined) {
        ended();
        return;
      }
      const pid = pidInFile(path);
      const st = pid === undefined ? undefined : readProcStat(pid);
      if (st !== undefined) {
        this.follow(m, run, st, ended);
        this.ready(m, run);
        return;
      }
      await new Promise((r) => setTimeout(r, pidfilePollMs));
    }
  }

  /** The run's main process is now the one of `st` (not our child): polled until it is gone. */
  private follow(m: Managed, run: Run, st: ProcStat, ended: () => void): void {
    const pid = st.pid;
    run.pid = pid;
    run.pgid = st.pgrp;
    run.adopted = true;
    this.host.recordRun(m, run);
    const timer = setInterval(() => {
      const now = readProcStat(pid);
      if (now !== undefined && now.startTime === st.startTime && now.state !== "Z") return;
      clearInterval(timer);
      ended();
    }, mainPollMs);
    run.over.signal.addEventListener("abort", () => clearInterval(timer), { once: true });
  }
}

/** The pid a pidfile names (its first line), or undefined. */
function pidInFile(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, "utf8").trim().split("\n")[0]);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}
