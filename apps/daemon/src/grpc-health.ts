/**
 * gRPC's standard health service, grpc.health.v1.Health
 * (https://github.com/grpc/grpc/blob/master/doc/health-checking.md), for `grpc_health_probe` and
 * Kubernetes gRPC probes.
 *
 * Written here because no package does it for a Connect router: connect-es has no health
 * package (connectrpc/connect-es#797 is open), and the npm ones (grpc-health-check,
 * nice-grpc-server-health) are services of @grpc/grpc-js or nice-grpc servers. What it takes is
 * small: one phase of the daemon, mapped to a serving status for each service it reports on.
 */
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import {
  Health,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "@procmgr/rpc/grpc-standard";
import { AsyncQueue } from "./async-queue.js";

/** Where the daemon is in its life, as probes see it. */
export type HealthPhase = "starting" | "serving" | "stopping";

/**
 * The transition table: starting (listening, not yet ready) -> serving (ready) -> stopping
 * (shutdown begun; stays there). A start-up that fails goes from starting to stopping.
 */
const transitions: Readonly<Record<HealthPhase, readonly HealthPhase[]>> = {
  starting: ["serving", "stopping"],
  serving: ["stopping"],
  stopping: [],
};

const statusOf: Readonly<Record<HealthPhase, ServingStatus>> = {
  starting: ServingStatus.NOT_SERVING,
  serving: ServingStatus.SERVING,
  stopping: ServingStatus.NOT_SERVING,
};

type Watcher = (phase: HealthPhase) => void;

/**
 * The daemon's health: the phase, and the services whose status is that phase's. "" (the server
 * as a whole) is always one of them; a name not among them is unknown (Check: NOT_FOUND).
 */
export class DaemonHealth {
  private current: HealthPhase = "starting";
  private readonly watchers = new Set<Watcher>();
  readonly services: ReadonlySet<string>;

  constructor(services: readonly string[]) {
    this.services = new Set(["", ...services]);
  }

  get phase(): HealthPhase {
    return this.current;
  }

  /** How many Watch calls are open. */
  get watching(): number {
    return this.watchers.size;
  }

  /** The one way the phase changes: checked against the table, then told to every Watch. */
  set(next: HealthPhase): void {
    if (next === this.current) return;
    if (!transitions[this.current].includes(next)) {
      throw new Error(`health: no transition from ${this.current} to ${next}`);
    }
    this.current = next;
    for (const w of this.watchers) w(next);
  }

  /** The status of `service`, undefined when it is not one this daemon reports on. */
  status(service: string): ServingStatus | undefined {
    return this.services.has(service) ? statusOf[this.current] : undefined;
  }

  /**
   * Watch: the status now, then each change, until the call ends or the daemon stops (whose
   * NOT_SERVING is the last message; the stream then ends with OK). An unknown service is
   * SERVICE_UNKNOWN, and the call stays open as the protocol asks.
   */
  async *watch(service: string, signal: AbortSignal): AsyncGenerator<ServingStatus> {
    const queue = new AsyncQueue<ServingStatus>();
    const push = (phase: HealthPhase) => {
      queue.push(this.status(service) ?? ServingStatus.SERVICE_UNKNOWN);
      if (phase === "stopping") queue.close();
    };
    const onAbort = () => queue.close();
    this.watchers.add(push);
    signal.addEventListener("abort", onAbort, { once: true });
    push(this.current);
    if (signal.aborted) queue.close();
    try {
      let last: ServingStatus | undefined;
      for await (const status of queue) {
        if (status !== last) yield status;
        last = status;
      }
    } finally {
      this.watchers.delete(push);
      signal.removeEventListener("abort", onAbort);
    }
  }
}

function unknownService(service: string): ConnectError {
  return new ConnectError(`unknown service "${service}"`, Code.NotFound);
}

/**
 * The Health service's routes. Health is open to every caller, token or not (see the auth
 * interceptor): probes send none, and a serving status says nothing a caller could misuse.
 */
export function healthRoutes(health: DaemonHealth): (router: ConnectRouter) => void {
  return (router) => {
    router.service(Health, {
      check(req) {
        const status = health.status(req.service);
        if (status === undefined) throw unknownService(req.service);
        return { status };
      },
      async *watch(req, ctx: HandlerContext) {
        for await (const status of health.watch(req.service, ctx.signal)) yield { status };
      },
      list() {
        const statuses: Record<string, Omit<HealthCheckResponse, "$typeName">> = {};
        for (const s of health.services) statuses[s] = { status: statusOf[health.phase] };
        return { statuses };
      },
    });
  };
}
