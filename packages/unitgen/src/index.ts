export type { DaemonVariant } from "./daemon.js";
export { daemonUnit, daemonUnitFileName, daemonVariants } from "./daemon.js";
export type { UnitErrorCode } from "./errors.js";
export { UnitError } from "./errors.js";
export type { EnvReference, ExecWord, SpecifierText, UnitText } from "./escape.js";
export {
  envReference,
  escapeSpecifiers,
  isValidEnvName,
  quoteEnvironment,
  quoteExecArgv,
  withSpecifiers,
} from "./escape.js";
export type { ApplyOptions, StepOutcome, StepResult } from "./install/apply.js";
export { applySteps, findExecutable, sameCaps } from "./install/apply.js";
export type { InstallOptions, Step, UninstallOptions, VariantPaths } from "./install/plan.js";
export {
  describeStep,
  isUserVariant,
  planInstall,
  planUninstall,
  SERVICE_NAME,
  SERVICE_USER,
  seedFileCaps,
  stepCommand,
  UNIT_FILE,
  variantPaths,
} from "./install/plan.js";
export type { UnitFile, UnitSection, UnitValue } from "./render.js";
export { renderUnit } from "./render.js";
export type {
  ExecArgv,
  ServiceKillMode,
  ServiceRestart,
  ServiceType,
  ServiceUnitSpec,
} from "./service.js";
export { serviceUnit } from "./service.js";
export type { VerifyInput, VerifyOptions, VerifyResult } from "./verify.js";
export { verifyUnits } from "./verify.js";
