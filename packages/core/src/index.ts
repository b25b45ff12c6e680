export { parseEnvironmentFile } from "./environment.js";
export { SupervisorError, type SupervisorErrorCode } from "./errors.js";
export {
  type HealthCounters,
  HealthMonitor,
  type HealthMonitorOptions,
  type HealthSnapshot,
  type HealthStatus,
  type HealthStep,
  nextHealth,
} from "./health-monitor.js";
export { type ProbeResult, type ProbeTarget, probe } from "./health-probe.js";
export type { DaemonIdentity, Identity } from "./identity.js";
export {
  backoffDelayMs,
  type ExitFacts,
  failureResetAfterMs,
  failureResetMinMs,
  forgetOldStarts,
  restartDecision,
  startLimitExceeded,
  startsInWindow,
} from "./policy.js";
export { isInProcessTree } from "./proc-fs.js";
export { Supervisor } from "./supervisor.js";
export type {
  CgroupStatus,
  ConfigDiff,
  Enforcement,
  ExitResult,
  OutputListener,
  ProcessInfo,
  ProcessSource,
  ProcessState,
  ResourceUsage,
  SupervisorApi,
  SupervisorEvents,
  SupervisorOptions,
  UpdateResult,
} from "./types.js";
export { processStates } from "./types.js";
