/**
 * WatchEvents: the supervisor's events (and the daemon's reloads) as a stream of
 * WatchEventsResponse, for the processes asked for, until the call ends; every call is fed by
 * the daemon's one EventFeed.
 */
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import type {
  ConfigDiff,
  ExitResult,
  ProcessInfo,
  SupervisorApi,
  SupervisorEvents,
} from "@procmgr/core";
import { EventType, type WatchEventsResponse, WatchEventsResponseSchema } from "@procmgr/rpc";
import { AsyncQueue } from "./async-queue.js";
import { exitFailure, protoState } from "./convert.js";
import type { ServiceDeps } from "./service.js";

type Listeners = { [E in keyof SupervisorEvents]?: (...a: SupervisorEvents[E]) => void };
type Watcher = (ev: WatchEventsResponse) => void;

/**
 * The supervisor's events and the daemon's reloads as WatchEventsResponses, made once for every
 * call watching: one listener per event on the supervisor however many calls watch (a listener
 * per call would convert each event once per call, and past ten Node warns of a leak).
 */
export class EventFeed {
  private readonly watchers = new Set<Watcher>();
  private detach: (() => void) | undefined;

  constructor(private readonly supervisor: SupervisorApi) {}

  /** `watch` hears every event from now on, until the returned function is called. */
  subscribe(watch: Watcher): () => void {
    if (this.watchers.size === 0) this.detach = this.attach();
    this.watchers.add(watch);
    return () => {
      this.watchers.delete(watch);
      if (this.watchers.size === 0) {
        this.detach?.();
        this.detach = undefined;
      }
    };
  }

  /** The daemon applied a reload (not a dry run): every call watching hears of it. */
  reloaded(diff: ConfigDiff): void {
    if (this.watchers.size === 0) return;
    this.send(
      create(WatchEventsResponseSchema, {
        time: timestampNow(),
        type: EventType.CONFIG_RELOADED,
        message: `added=${diff.added.length} removed=${diff.removed.length} changed=${diff.changed.length} unchanged=${diff.unchanged.length}`,
      }),
    );
  }

  private send(ev: WatchEventsResponse): void {
    for (const watch of this.watchers) watch(ev);
  }

  private attach(): () => void {
    const listeners = eventListeners((ev) => this.send(ev));
    for (const [e, l] of Object.entries(listeners)) {
      this.supervisor.on(e as keyof SupervisorEvents, l as never);
    }
    return () => {
      for (const [e, l] of Object.entries(listeners)) {
        this.supervisor.off(e as keyof SupervisorEvents, l as never);
      }
    };
  }
}

export async function* watchEvents(
  deps: ServiceDeps,
  ids: readonly string[],
  ctx: HandlerContext,
): AsyncGenerator<WatchEventsResponse> {
  const filter = new Set(ids);
  // A reload concerns every process: only calls watching them all hear of it.
  const wanted = (ev: WatchEventsResponse) =>
    filter.size === 0 ||
    (ev.type !== EventType.CONFIG_RELOADED &&
      (filter.has(ev.processId) || filter.has(ev.processName)));
  const queue = new AsyncQueue<WatchEventsResponse>();
  const unsubscribe = deps.eventFeed.subscribe((ev) => {
    if (wanted(ev)) queue.push(ev);
  });
  const onAbort = () => queue.close();
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  if (ctx.signal.aborted) queue.close();
  try {
    yield* queue;
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    unsubscribe();
  }
}

/** Why a run ended, when its code or signal does not say it all. */
function exitMessage(exit: ExitResult): string {
  const parts = [exit.spawnError, exitFailure(exit), exit.timedOut ? "stop timed out; killed" : ""];
  return parts.filter((p) => p !== undefined && p !== "").join("; ");
}

/** The supervisor's events as WatchEvents responses, to `push`. */
function eventListeners(push: (ev: WatchEventsResponse) => void): Listeners {
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
      const ev = base(EventType.STATE_CHANGED, process);
      ev.previousState = protoState(previous);
      if (process.failureReason !== undefined && process.state === "failed") {
        ev.message = process.failureReason;
      }
      push(ev);
    },
    exit: ({ process, exit }) => {
      const ev = base(EventType.EXITED, process);
      if (exit.code !== null) ev.exitCode = exit.code;
      ev.signal = exit.signal ?? "";
      ev.message = exitMessage(exit);
      push(ev);
    },
    health: ({ process, health }) => {
      const ev = base(EventType.HEALTH_CHANGED, process);
      const detail = health.lastResult?.detail;
      ev.message = detail === undefined ? health.status : `${health.status}: ${detail}`;
      push(ev);
    },
    restart: ({ process, delayMs }) => {
      const ev = base(EventType.RESTART_SCHEDULED, process);
      ev.message = `restart in ${(delayMs / 1000).toFixed(1)}s`;
      push(ev);
    },
    created: ({ process }) => {
      push(base(EventType.CREATED, process));
    },
    updated: ({ process }) => {
      push(base(EventType.UPDATED, process));
    },
    deleted: ({ process }) => {
      push(base(EventType.DELETED, process));
    },
  };
}
