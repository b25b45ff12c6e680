export { createCli, programNameFrom, programNames, runCli } from "./cli.js";
export { commands } from "./commands/index.js";
export type { CliContext } from "./context.js";
export type { CliErrorCode, DaemonTarget } from "./errors.js";
export { CliError, ExitCode } from "./errors.js";
export type { MainIo } from "./main.js";
export { main } from "./main.js";
