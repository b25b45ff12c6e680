export type {
  EnvironmentFile,
  HealthCheck,
  KillMode,
  OutputTarget,
  PathCondition,
  ProcessConfig,
  ProcessType,
  ResourceLimits,
  RestartPolicy,
} from "./types.js";
export { processDefaults } from "./types.js";
