/**
 * WatchEvents: the supervisor's events (and the daemon's reloads) as a stream of
 * WatchEventsResponse, for the processes asked for, until the call ends.
 */
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import type { ExitResult, ProcessInfo, SupervisorEvents } from "@procmgr/core";
import { EventType, type WatchEventsResponse, WatchEventsResponseSchema } from "@procmgr/rpc";
import { AsyncQueue } from "./async-queue.js";
import { exitFailure, protoState } from "./convert.js";
import type { ServiceDeps } from "./service.js";

type Listeners = { [E in keyof SupervisorEvents]?: (...a: SupervisorEvents[E]) => void };

export async function* watchEvents(
  deps: ServiceDeps,
  ids: readonly string[],
  ctx: HandlerContext,
): AsyncGenerator<WatchEventsResponse> {
  const sup = deps.supervisor;
  const filter = new Set(ids);
  const wanted = (p: ProcessInfo) => filter.size === 0 || filter.has(p.id) || filter.has(p.name);
  const queue = new AsyncQueue<WatchEventsResponse>();
  const listeners = eventListeners(wanted, (ev) => queue.push(ev));
  for (const [e, l] of Object.entries(listeners)) {
    sup.on(e as keyof SupervisorEvents, l as never);
  }
  const offReloaded = deps.onReloaded((diff) => {
    if (filter.size > 0) return;
    queue.push(
      create(WatchEventsResponseSchema, {
        time: timestampNow(),
        type: EventType.CONFIG_RELOADED,
        message: `added=${diff.added.length} removed=${diff.removed.length} changed=${diff.changed.length} unchanged=${diff.unchanged.length}`,
      }),
    );
  });
  const onAbort = () => queue.close();
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  if (ctx.signal.aborted) queue.close();
  try {
    yield* queue;
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    offReloaded();
    for (const [e, l] of Object.entries(listeners)) {
      sup.off(e as keyof SupervisorEvents, l as never);
    }
  }
}

/** Why a run ended, when its code or signal does not say it all. */
function exitMessage(exit: ExitResult): string {
  const parts = [exit.spawnError, exitFailure(exit), exit.timedOut ? "stop timed out; killed" : ""];
  return parts.filter((p) => p !== undefined && p !== "").join("; ");
}

/** The supervisor's events of the `wanted` processes as WatchEvents responses, to `push`. */
function eventListeners(
  wanted: (p: ProcessInfo) => boolean,
  push: (ev: WatchEventsResponse) => void,
): Listeners {
  const base = (type: EventType, p: ProcessInfo) =>
    create(WatchEventsResponseSchema, {
      time: timestampNow(),
      type,
      processId: p.id,
      processName: p.name,
      state: protoState(p.state),
    });
  return {
    state: ({ process, previous }) => {
      if (!wanted(process)) return;
      const ev = base(EventType.STATE_CHANGED, process);
      ev.previousState = protoState(previous);
      if (process.failureReason !== undefined && process.state === "failed") {
        ev.message = process.failureReason;
      }
      push(ev);
    },
    exit: ({ process, exit }) => {
      if (!wanted(process)) return;
      const ev = base(EventType.EXITED, process);
      if (exit.code !== null) ev.exitCode = exit.code;
      ev.signal = exit.signal ?? "";
      ev.message = exitMessage(exit);
      push(ev);
    },
    health: ({ process, health }) => {
      if (!wanted(process)) return;
      const ev = base(EventType.HEALTH_CHANGED, process);
      const detail = health.lastResult?.detail;
      ev.message = detail === undefined ? health.status : `${health.status}: ${detail}`;
      push(ev);
    },
    restart: ({ process, delayMs }) => {
      if (!wanted(process)) return;
      const ev = base(EventType.RESTART_SCHEDULED, process);
      ev.message = `restart in ${(delayMs / 1000).toFixed(1)}s`;
      push(ev);
    },
    created: ({ process }) => {
      if (wanted(process)) push(base(EventType.CREATED, process));
    },
    updated: ({ process }) => {
      if (wanted(process)) push(base(EventType.UPDATED, process));
    },
    deleted: ({ process }) => {
      if (wanted(process)) push(base(EventType.DELETED, process));
    },
  };
}
