/**
 * The daemon's log of what happens to its processes: starts (once ready), exits with their
 * reason, failures, restarts, health changes, definitions created and deleted, warnings.
 */
import type { SupervisorApi, SupervisorEvents } from "@procmgr/core";
import { exitFailure } from "./convert.js";
import type { Logger } from "./logger.js";

type Listeners = { [E in keyof SupervisorEvents]?: (...args: SupervisorEvents[E]) => void };

/**
 * The fields that name a process in every line about it: its full id (what `pm-cli list` shows
 * the first 8 characters of, so `grep process_id=<short id>` finds its lines) and its name.
 * Under journald they become PROCESS_ID and PROCESS_NAME (logger.ts).
 */
export function processFields(p: { readonly id: string; readonly name: string }): {
  readonly process_id: string;
  readonly process: string;
} {
  return { process_id: p.id, process: p.name };
}

/** Logs the supervisor's events until the returned function is called. */
export function logLifecycle(sup: SupervisorApi, log: Logger): () => void {
  const listeners: Listeners = {
    state: ({ process: p, previous }) => {
      if (p.state === "running") log.info("process started", { ...processFields(p), pid: p.pid });
      else if (p.state === "failed") {
        log.warn("process failed", { ...processFields(p), reason: p.failureReason ?? "unknown" });
      } else log.debug("process state", { ...processFields(p), from: previous, to: p.state });
    },
    exit: ({ process: p, exit }) => {
      const fields = {
        ...processFields(p),
        code: exit.code ?? undefined,
        signal: exit.signal ?? undefined,
        stopped_by_us: exit.stoppedByUs || undefined,
        timed_out: exit.timedOut || undefined,
        spawn_error: exit.spawnError,
        // An OOM kill is a SIGKILL: the failure says it was the OOM killer (and which limit).
        failure: exitFailure(exit),
        oom_killed: exit.oomKilled || undefined,
      };
      if (exit.success || exit.stoppedByUs) log.info("process exited", fields);
      else log.warn("process exited", fields);
    },
    restart: ({ process: p, delayMs }) => {
      log.info("restart scheduled", { ...processFields(p), in: `${(delayMs / 1000).toFixed(1)}s` });
    },
    health: ({ process: p, health }) => {
      const fields = {
        ...processFields(p),
        health: health.status,
        failures: health.consecutiveFailures,
        detail: health.lastResult?.detail,
      };
      if (health.status === "unhealthy") log.warn("health check", fields);
      else log.info("health check", fields);
    },
    created: ({ process: p }) =>
      log.info("process created", { ...processFields(p), source: p.source }),
    deleted: ({ process: p }) => log.info("process deleted", processFields(p)),
    // A limit that cannot be enforced, a failed exec_start_post, a log write error...
    warning: ({ process: p, message }) =>
      log.warn(message, p === undefined ? {} : processFields(p)),
  };
  const entries = Object.entries(listeners) as [keyof SupervisorEvents, never][];
  for (const [event, listener] of entries) sup.on(event, listener);
  return () => {
    for (const [event, listener] of entries) sup.off(event, listener);
  };
}
