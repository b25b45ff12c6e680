/**
 * The state machine of one process, pure (no processes, no clocks): the events that happen to
 * a process and one table of the moves they make between its states (types.ts `ProcessState`),
 * as systemd's `service_state_table`. The supervisor changes a state only through `transition`
 * (Supervisor.setState, like `service_set_state()`), which rejects a move the table lacks.
 *
 * A move to the state the process is already in is legal where the table lists it and changes
 * nothing: no `state` event is emitted for it. A process is `running` once it is ready
 * (`ready`), not when its child merely exists (`spawn`): a oneshot never is, it ends `exited`.
 */
import { SupervisorError } from "./errors.js";
import type { ProcessState } from "./types.js";

/** What happens to a process. */
export type ProcessEvent =
  /** A start begins: a manual one, or an automatic restart. */
  | "start"
  /** The child of the start runs its program (Node's `spawn` event: the exec succeeded). */
  | "spawn"
  /**
   * The process is ready, as its type says: `simple` when it spawned, `notify` on READY=1,
   * `forking` when its main process is known. Again in `running` after RELOADING=1.
   */
  | "ready"
  /** The kill signal was sent to a run. */
  | "stop"
  /** A start was called off before its child existed, or a pending restart was cancelled. */
  | "cancel"
  /** A manual start whose condition_path_exists is unmet. */
  | "skip"
  /** An automatic restart whose condition_path_exists is unmet. */
  | "skip-restart"
  /** A start refused before any run: unknown user, a required dependency missing or down. */
  | "fail"
  /** A run ended after a stop by us (stop, reload, delete, shutdown). */
  | "end-stopped"
  /** A run ended successfully and is not restarted. */
  | "end-exited"
  /** A run (or a start that never spawned) failed and is not restarted, or hit the start limit. */
  | "end-failed"
  /** A run ended and restarts after a delay (backoff). */
  | "end-backoff";

export const processEvents: readonly ProcessEvent[] = [
  "start",
  "spawn",
  "ready",
  "stop",
  "cancel",
  "skip",
  "skip-restart",
  "fail",
  "end-stopped",
  "end-exited",
  "end-failed",
  "end-backoff",
];

type Moves = Readonly<Partial<Record<ProcessEvent, ProcessState>>>;

/** The states a start may begin in, and where a refused or skipped manual start leaves them. */
const idle = (skipTo: ProcessState): Moves => ({
  start: "starting",
  skip: skipTo,
  fail: "failed",
});

/** How a run ends: the next state by how it ended (a stop by us always ends in `stopped`). */
const runEnds: Moves = {
  "end-stopped": "stopped",
  "end-exited": "exited",
  "end-failed": "failed",
  "end-backoff": "backoff",
};

/**
 * Every legal move: state -> event -> next state. An event missing from a state's row is
 * illegal there. The `starting` and `running` rows hold `start` and `skip-restart` because a
 * restart with restart_sec 0 begins at once, before the ended run left its state (`stopping`
 * too: a run the supervisor stopped for a failure ends like a failed run); `starting`
 * holds the run endings because a start that fails before its child exists (command not found,
 * an exec_start_pre failing) ends like a failed run.
 */
const table: Readonly<Record<ProcessState, Moves>> = {
  created: idle("stopped"),
  starting: {
    start: "starting",
    spawn: "starting",
    ready: "running",
    stop: "stopping",
    cancel: "stopped",
    "skip-restart": "exited",
    fail: "failed",
    ...runEnds,
  },
  running: {
    start: "starting",
    ready: "running",
    stop: "stopping",
    "skip-restart": "exited",
    ...runEnds,
  },
  // A run stopped because it failed (not ready in time, health check, watchdog) ends as a
  // failure: it may restart from here.
  stopping: { start: "starting", "skip-restart": "exited", ...runEnds },
  stopped: idle("stopped"),
  exited: idle("exited"),
  failed: idle("stopped"),
  backoff: { ...idle("stopped"), "skip-restart": "exited", cancel: "stopped" },
};

/** The state `event` moves a process in `state` to; undefined when the move is illegal. */
export function nextState(state: ProcessState, event: ProcessEvent): ProcessState | undefined {
  return table[state][event];
}

/**
 * The state `event` moves a process in `state` to. Throws an `invalid-state` SupervisorError
 * (naming the process `name`) when the table has no such move.
 */
export function transition(state: ProcessState, event: ProcessEvent, name?: string): ProcessState {
  const next = table[state][event];
  if (next === undefined) {
    const subject = name === undefined ? "a process" : `process "${name}"`;
    throw new SupervisorError(
      "invalid-state",
      `${subject}: event "${event}" is not allowed in state "${state}"`,
    );
  }
  return next;
}

/** States in which a process runs nothing and will not by itself: binds_to dependents stop. */
export function isDown(state: ProcessState): boolean {
  return state === "stopped" || state === "exited" || state === "failed";
}
