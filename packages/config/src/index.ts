export { changedFields, configsEqual, hotFields } from "./config-equal.js";
export { processConfigToRaw, type RawProcess } from "./config-to-raw.js";
export type {
  DaemonSettings,
  DaemonSettingsInput,
  DefaultOutput,
  LogFormat,
  LogLevel,
  TlsSettings,
} from "./daemon-settings.js";
export {
  defaultBindAddress,
  defaultMetricsPort,
  remoteBindRefusal,
  resolveDaemonSettings,
} from "./daemon-settings.js";
export { defaultConfigText } from "./default-config.js";
export { parseDuration } from "./duration.js";
export type { ConfigErrorCode, ConfigIssue } from "./errors.js";
export { ConfigError, formatConfigError, formatConfigIssue } from "./errors.js";
export type { FieldCodec, FlagKind } from "./field-codecs.js";
export type { DescribedField } from "./field-mapping.js";
export {
  describedFields,
  isSpecField,
  isSpecFieldPath,
  parentFieldRow,
  parseFieldValue,
  processConfigToSpec,
  processFieldRow,
  specFields,
  specToJson,
  specToRaw,
} from "./field-mapping.js";
export type { FieldDescribe, FieldFlag, FieldRow, SpecValues } from "./field-row.js";
export { protoLocalName } from "./field-row.js";
export { checkAgainstHost, checkHealthCheckHosts } from "./host-checks.js";
export type { LoadedConfig } from "./load-config.js";
export { loadConfig, parseConfigText, processesDirFor } from "./load-config.js";
export type { HealthCheckOutput, ResourceLimitsOutput } from "./nested-fields.js";
export {
  HealthCheckSchema,
  healthCheckFieldTable,
  ResourceLimitsSchema,
  resourceLimitFieldTable,
} from "./nested-fields.js";
export type { SpellingTable } from "./process-enums.js";
export {
  healthCheckTypes,
  killModes,
  processTypes,
  restartPolicies,
  spellingOf,
  spellingsOf,
} from "./process-enums.js";
export type { ProcessFieldName, ProcessInput, ProcessOutput } from "./process-fields.js";
export {
  ProcessSchema,
  processDefaults,
  processFields,
  processFieldTable,
} from "./process-fields.js";
export { resolveProcessConfig, updateProcessConfig } from "./resolve-process.js";
export { parseSignal } from "./signals.js";
export { splitCommand } from "./split-command.js";
export type {
  EnvironmentFile,
  HealthCheck,
  HealthCheckType,
  KillMode,
  OutputTarget,
  PathCondition,
  ProcessConfig,
  ProcessType,
  ResourceLimits,
  RestartPolicy,
  SocketConfig,
} from "./types.js";
export { checkUsersAndGroups } from "./users.js";
