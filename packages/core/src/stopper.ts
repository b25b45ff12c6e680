/**
 * The stopper: ends a run in two steps on an abortable timer (kill_signal, then SIGKILL after
 * timeout_stop_sec) and, when a main process exits, kills what it left in its cgroup (or its
 * process group, where it has no cgroup). Completion is the run's own exit and its cgroup's
 * emptying (`Run.done`), never polling.
 */
import { spawn } from "node:child_process";
import type { ProcessConfig } from "@procmgr/config";
import type { ProcessCgroup } from "./cgroups.js";
import type { Owner, Run } from "./managed.js";
import { signalSafe } from "./proc-fs.js";

/** Resolves when the delay elapsed or the signal aborted (never rejects). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
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

/**
 * Stops a run: `kill_signal` to every process of its cgroup (`control-group`; its process group
 * where it has no cgroup), to its process group (`process-group`) or to the main pid
 * (`process`, `mixed`); then after `timeout_stop_sec` (0: wait forever) SIGKILL to all of them
 * (to the whole cgroup with `mixed`, to the main pid only with `process`), marking the run
 * `timedOut`. Resolves when the run is over (its output in the files, its cgroup empty).
 */
export async function stopRun(
  run: Run,
  config: Pick<ProcessConfig, "killSignal" | "killMode" | "timeoutStopSec">,
): Promise<void> {
  if (!run.exit) {
    const { killSignal, killMode, timeoutStopSec } = config;
    if (killMode === "process" || killMode === "mixed") signalRun(run, run.pid, killSignal);
    else signalTree(run, killMode, killSignal);
    if (Number.isFinite(timeoutStopSec) && timeoutStopSec > 0) {
      await sleep(timeoutStopSec * 1000, run.over.signal);
    } else {
      await run.done;
    }
    if (!run.finished && !run.exit) {
      run.timedOut = true;
      if (killMode === "process") signalRun(run, run.pid, "SIGKILL");
      else signalTree(run, killMode, "SIGKILL");
    }
  }
  await run.done;
}

/**
 * `sig` to what `killMode` stops as a whole: each process of the cgroup once (`control-group`,
 * `mixed`), the main process too (it may not have entered its cgroup yet), or the process group
 * (`process-group`, or no cgroup). SIGKILL to a cgroup is `cgroup.kill`.
 */
function signalTree(run: Run, killMode: ProcessConfig["killMode"], sig: NodeJS.Signals): void {
  const cgroup = wholeCgroup(run, killMode);
  if (cgroup === undefined) {
    signalRun(run, -run.pgid, sig);
    return;
  }
  signalRun(run, run.pid, sig);
  const each = (pid: number): void => signalRun(run, pid, sig);
  if (sig === "SIGKILL") cgroup.killAll(each);
  else cgroup.signalEach(each, new Set([run.pid]));
}

/**
 * At the main process's exit: whatever stayed in its cgroup or group goes with it (no orphans),
 * except with kill_mode `process`. Resolves once the cgroup is empty (`control-group`, `mixed`).
 */
export function killRemnants(run: Run, killMode: ProcessConfig["killMode"]): Promise<void> {
  if (killMode === "process") return Promise.resolve();
  signalTree(run, killMode, "SIGKILL");
  return wholeCgroup(run, killMode)?.whenEmpty() ?? Promise.resolve();
}

/** The cgroup a stop of `run` acts on as a whole: its own, unless kill_mode is process-group. */
function wholeCgroup(run: Run, killMode: ProcessConfig["killMode"]): ProcessCgroup | undefined {
  return killMode === "process-group" ? undefined : run.cgroup;
}

/**
 * Signal a run's process (or group, with a negative pid). A non-root daemon whose capabilities
 * come from `setcap cap_setuid,cap_setgid+ep` (the seed guide's step) has no CAP_KILL: the
 * kernel answers EPERM for a child running as another user. It can still become that user, so
 * the signal is then sent by `kill` spawned with the child's uid/gid.
 */
export function signalRun(run: Run, target: number, sig: NodeJS.Signals): void {
  signalAs(run.owner, target, sig);
}

/**
 * Signal a pid (or a group, negative) that runs as `owner` (undefined: as the daemon), through
 * `kill` spawned as that user when the kernel answers EPERM (see `signalRun`).
 */
export function signalAs(owner: Owner | undefined, target: number, sig: NodeJS.Signals): void {
  try {
    signalSafe(target, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM" || owner === undefined) throw e;
    const killer = spawn("kill", ["-s", sig.replace(/^SIG/, ""), "--", String(target)], {
      uid: owner.uid,
      gid: owner.gid,
      stdio: "ignore",
    });
    killer.on("error", () => {});
  }
}

/** timeout_stop_sec as a deadline; 0 or infinity wait forever (as in systemd). */
export function stopDeadline(config: Pick<ProcessConfig, "timeoutStopSec">): number {
  const t = config.timeoutStopSec;
  return Number.isFinite(t) && t > 0 ? Date.now() + t * 1000 : Number.POSITIVE_INFINITY;
}
