import { isDeepStrictEqual } from "node:util";
import type { ProcessConfig } from "./types.js";

/** ProcessConfig key → the snake_case field of processes.yaml it comes from. */
const fieldNames: Readonly<Record<keyof ProcessConfig, string>> = {
  name: "name",
  command: "command",
  args: "args",
  argv: "command",
  description: "description",
  user: "user",
  group: "group",
  workingDir: "working_dir",
  env: "env",
  environmentFile: "environment_file",
  autoStart: "auto_start",
  restart: "restart",
  restartSec: "restart_sec",
  restartMaxDelaySec: "restart_max_delay_sec",
  startLimitBurst: "start_limit_burst",
  startLimitIntervalSec: "start_limit_interval_sec",
  timeoutStartSec: "timeout_start_sec",
  timeoutStopSec: "timeout_stop_sec",
  killSignal: "kill_signal",
  killMode: "kill_mode",
  successExitStatus: "success_exit_status",
  stdout: "stdout",
  stderr: "stderr",
  pidfile: "pidfile",
  execStartPre: "exec_start_pre",
  execStartPost: "exec_start_post",
  execStopPost: "exec_stop_post",
  runtimeDirectory: "runtime_directory",
  conditionPathExists: "condition_path_exists",
  ambientCapabilities: "ambient_capabilities",
  after: "after",
  before: "before",
  requires: "requires",
  wants: "wants",
  bindsTo: "binds_to",
  conflicts: "conflicts",
  processType: "process_type",
  healthCheck: "health_check",
  resourceLimits: "resource_limits",
};

/**
 * The snake_case fields whose change is applied to a running process without restarting it.
 * Every other field (command, args, env, user, working_dir, ...) needs a restart.
 */
export const hotFields: ReadonlySet<string> = new Set([
  "restart",
  "restart_sec",
  "restart_max_delay_sec",
  "start_limit_burst",
  "start_limit_interval_sec",
  "timeout_start_sec",
  "timeout_stop_sec",
  "kill_signal",
  "kill_mode",
  "success_exit_status",
  "resource_limits",
  "health_check",
  "auto_start",
  "description",
  "after",
  "before",
  "wants",
  "requires",
  "binds_to",
  "conflicts",
]);

/** The snake_case names of the fields that differ (each once, in processes.yaml order). */
export function changedFields(a: ProcessConfig, b: ProcessConfig): string[] {
  const out: string[] = [];
  for (const key of Object.keys(fieldNames) as (keyof ProcessConfig)[]) {
    if (!isDeepStrictEqual(a[key], b[key])) {
      const field = fieldNames[key];
      if (!out.includes(field)) out.push(field);
    }
  }
  return out;
}

/** Same definition (every field, name included). */
export function configsEqual(a: ProcessConfig, b: ProcessConfig): boolean {
  return changedFields(a, b).length === 0;
}
