export type { PshErrorCode, PshIssue } from "./errors.js";
export { PshError } from "./errors.js";
export type {
  HostModuleConfig,
  HostProfile,
  HostProfileFormat,
  HostProfileInput,
  HostProfileOutput,
  HostServiceConfig,
} from "./host-profile.js";
export {
  enabledModules,
  enabledServices,
  HostProfileSchema,
  hostProfileExtensions,
  hostProfileFormat,
  loadHostProfile,
  parseHostProfileText,
  resolveHostName,
  stripJsonComments,
} from "./host-profile.js";
export type { InstallUser } from "./install-user.js";
export { lookupInstallUser, selectInstallUserName } from "./install-user.js";
export type { ModuleManifest, PsychedRepo, ServiceManifest } from "./psyched-repo.js";
export {
  discoverPsychedRepo,
  findPsychedRepoRoot,
  loadModuleManifest,
  loadServiceManifest,
} from "./psyched-repo.js";
export type { SysAction, SysIo, SysRequest } from "./sys-runner.js";
export { defaultSystemdDir, runSys, sysActions } from "./sys-runner.js";
export type { SysTarget, TargetInput, UnitKind } from "./targets.js";
export { isWildcard, resolveTargets, unitNameFor } from "./targets.js";
export type { UnitContext } from "./units.js";
export {
  launchWrapper,
  moduleEnvironment,
  moduleUnitSpec,
  renderModuleUnit,
  renderServiceUnit,
  serviceEnvironment,
  serviceUnitSpec,
} from "./units.js";
