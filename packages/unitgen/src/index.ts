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
