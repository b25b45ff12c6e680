export type { DaemonArgs } from "./args.js";
export { parseArgs, usage } from "./args.js";
export type { CallerTransport } from "./auth.js";
export {
  authInterceptor,
  authorizationMatches,
  openServices,
  privilegedMethods,
} from "./auth.js";
export { maxConcurrentStreams, maxConnections } from "./connection-gate.js";
export type { DaemonOptions } from "./daemon.js";
export { Daemon } from "./daemon.js";
export type { DaemonErrorCode } from "./errors.js";
export { DaemonError, toConnectError } from "./errors.js";
export type { HealthPhase } from "./grpc-health.js";
export { DaemonHealth, healthRoutes } from "./grpc-health.js";
export { createReflector, reflectionRoutes } from "./grpc-reflection.js";
export type { LogFormat, Logger, LoggerOptions, LogLevel } from "./logger.js";
export { createLogger } from "./logger.js";
export type { MainIo } from "./main.js";
export { checkConfig, initConfig, main } from "./main.js";
export type { PersistedProcess } from "./persistence.js";
export { ProcessStore } from "./persistence.js";
export { maxRequestBytes } from "./request-limits.js";
export type { DaemonStatus, ServiceDeps } from "./service.js";
export { createProcessManagerService, processManagerRoutes } from "./service.js";
export { VERSION } from "./version.js";
