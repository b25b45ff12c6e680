import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ProcessManager } from "@procmgr/rpc";
import { Health, ServerReflection, ServerReflectionV1alpha } from "@procmgr/rpc/grpc-standard";
import { authInterceptor, type CallerTransport, contextValuesFor } from "./auth.js";
import { type DaemonHealth, healthRoutes } from "./grpc-health.js";
import { reflectionRoutes } from "./grpc-reflection.js";
import type { RequestHandler } from "./listener.js";
import { requestLimits } from "./request-limits.js";
import { processManagerRoutes, type ServiceDeps } from "./service.js";

/** What every listener serves (and reflection lists). */
export const servedServices: readonly DescService[] = [
  ProcessManager,
  Health,
  ServerReflection,
  ServerReflectionV1alpha,
];

export interface ApiOptions {
  readonly service: ServiceDeps;
  readonly health: DaemonHealth;
  /** The TCP token accepted now (asked at each call that presents one: rotation). */
  token(): string | Promise<string>;
  /** Named in the error a caller without the token gets. */
  readonly daemonUser: string;
  /** Aborted when the daemon stops: ends the streams in flight. */
  readonly shutdownSignal: AbortSignal;
}

/**
 * The daemon's API, one handler a listener (the transport tells the auth interceptor who calls):
 * ProcessManager, gRPC health and server reflection, in gRPC, gRPC-Web and Connect.
 */
export function createApiHandlers(o: ApiOptions): (transport: CallerTransport) => RequestHandler {
  const health = healthRoutes(o.health);
  const reflection = reflectionRoutes(servedServices);
  const routes = (router: ConnectRouter): void => {
    processManagerRoutes(o.service)(router);
    health(router);
    reflection(router);
  };
  return (transport) =>
    connectNodeAdapter({
      routes,
      interceptors: [authInterceptor(o.token, o.daemonUser)],
      ...requestLimits,
      contextValues: () => contextValuesFor(transport),
      shutdownSignal: o.shutdownSignal,
    }) as RequestHandler;
}
