export { changedFields, configsEqual, hotFields } from "./config-equal.js";
export { processConfigToRaw, type RawProcess } from "./config-to-raw.js";
export type {
  DaemonSettings,
  DaemonSettingsInput,
  LogFormat,
  LogLevel,
} from "./daemon-settings.js";
export {
  defaultBindAddress,
  defaultMetricsPort,
  resolveDaemonSettings,
} from "./daemon-settings.js";
export { defaultConfigText } from "./default-config.js";
export { parseDuration } from "./duration.js";
export type { ConfigErrorCode, ConfigIssue } from "./errors.js";
export { ConfigError, formatConfigError, formatConfigIssue } from "./errors.js";
export type { LoadedConfig } from "./load-config.js";
export { loadConfig, parseConfigText, processesDirFor } from "./load-config.js";
export type {
  HealthCheckOutput,
  ProcessInput,
  ProcessOutput,
  ResourceLimitsOutput,
} from "./process-schema.js";
export {
  HealthCheckSchema,
  ProcessSchema,
  processFields,
  ResourceLimitsSchema,
} from "./process-schema.js";
export { resolveProcessConfig } from "./resolve-process.js";
export { parseSignal } from "./signals.js";
export { splitCommand } from "./split-command.js";
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
export { checkUsersAndGroups } from "./users.js";
