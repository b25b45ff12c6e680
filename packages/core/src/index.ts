export type {
  ConfigDiff,
  ExitResult,
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
