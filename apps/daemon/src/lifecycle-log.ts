/**
 * The daemon's log of what happens to its processes: starts (once ready), exits with their
 * reason, failures, restarts, health changes, definitions created and deleted, warnings.
 */
import type { SupervisorApi, SupervisorEvents } from "@procmgr/core";
import { exitFailure } from "./convert.js";
import type { Logger } from "./logger.js";

type Listeners = { [E in keyof SupervisorEvents]?: (...args: SupervisorEvents[E]) => void };

/** Logs the supervisor's events until the returned function is called. */
export function logLifecycle(sup: SupervisorApi, log: Logger): () => void {
  const listeners: Listeners = {
    state: ({ process: p, previous }) => {
      if (p.state === "running") log.info("process started", { name: p.name, pid: p.pid });
      else if (p.state === "failed") {
        log.warn("process failed", { name: p.name, reason: p.failureReason ?? "unknown" });
      } else log.debug("process state", { name: p.name, from: previous, to: p.state });
    },
    exit: ({ process: p, exit }) => {
      const fields = {
        name: p.name,
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
      log.info("restart scheduled", { name: p.name, in: `${(delayMs / 1000).toFixed(1)}s` });
    },
    health: ({ process: p, health }) => {
      const fields = {
        name: p.name,
        health: health.status,
        failures: health.consecutiveFailures,
        detail: health.lastResult?.detail,
      };
      if (health.status === "unhealthy") log.warn("health check", fields);
      else log.info("health check", fields);
    },
    created: ({ process: p }) =>
      log.info("process created", { name: p.name, id: p.id, source: p.source }),
    deleted: ({ process: p }) => log.info("process deleted", { name: p.name, id: p.id }),
    // A limit that cannot be enforced, a failed exec_start_post, a log write error...
    warning: ({ process: p, message }) =>
      log.warn(message, p === undefined ? {} : { name: p.name }),
  };
  const entries = Object.entries(listeners) as [keyof SupervisorEvents, never][];
  for (const [event, listener] of entries) sup.on(event, listener);
  return () => {
    for (const [event, listener] of entries) sup.off(event, listener);
  };
}
