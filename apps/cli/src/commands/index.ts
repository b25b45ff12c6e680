import type { CommandClass } from "clipanion";
import type { CliContext } from "../context.js";
import { CompleteCommand } from "./complete.js";
import { CompletionCommand } from "./completion.js";
import { CreateCommand } from "./create.js";
import { DaemonInstallCommand } from "./daemon/install.js";
import { DaemonRotateTokenCommand } from "./daemon/rotate-token.js";
import { DaemonUninstallCommand } from "./daemon/uninstall.js";
import { DeleteCommand } from "./delete.js";
import { DescribeCommand } from "./describe.js";
import { EventsCommand } from "./events.js";
import { HealthCommand } from "./health.js";
import { ListCommand } from "./list.js";
import { LogsCommand } from "./logs.js";
import { ReloadConfigCommand } from "./reload-config.js";
import { RestartCommand } from "./restart.js";
import { StartCommand } from "./start.js";
import { StatsCommand } from "./stats.js";
import { StatusCommand } from "./status.js";
import { StopCommand } from "./stop.js";
import { SysDebugCommand } from "./sys/debug.js";
import { SysDisableCommand } from "./sys/disable.js";
import { SysDownCommand } from "./sys/down.js";
import { SysEnableCommand } from "./sys/enable.js";
import { SysSetupCommand } from "./sys/setup.js";
import { SysTeardownCommand } from "./sys/teardown.js";
import { SysUpCommand } from "./sys/up.js";
import { UpdateCommand } from "./update.js";

/**
 * Every command of the CLI. Helpers owning `sys/` and `daemon/` append their classes here
 * (import them above, add them to the array).
 */
export const commands: CommandClass<CliContext>[] = [
  ListCommand,
  CreateCommand,
  StartCommand,
  StopCommand,
  RestartCommand,
  DeleteCommand,
  DescribeCommand,
  UpdateCommand,
  ReloadConfigCommand,
  StatusCommand,
  StatsCommand,
  HealthCommand,
  LogsCommand,
  EventsCommand,
  SysSetupCommand,
  SysTeardownCommand,
  SysEnableCommand,
  SysDisableCommand,
  SysUpCommand,
  SysDownCommand,
  SysDebugCommand,
  DaemonInstallCommand,
  DaemonUninstallCommand,
  CompletionCommand,
  CompleteCommand,
  DaemonRotateTokenCommand,
];
