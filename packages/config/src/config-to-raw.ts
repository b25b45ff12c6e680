import type { HealthCheck, OutputTarget, PathCondition, ProcessConfig } from "./types.js";
import { processDefaults } from "./types.js";

/** A process definition as written in YAML (snake_case keys). */
export type RawProcess = Record<string, unknown>;

function sameList(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function duration(seconds: number): number | string {
  return seconds === Number.POSITIVE_INFINITY ? "infinity" : seconds;
}

function output(target: OutputTarget): string | null {
  switch (target.kind) {
    case "file":
      return target.path;
    case "inherit":
      return "inherit";
    default:
      return null;
  }
}

function condition(c: PathCondition): string {
  return `${c.anyOf ? "|" : ""}${c.negate ? "!" : ""}${c.path}`;
}

function healthCheckToRaw(hc: HealthCheck): RawProcess {
  const raw: RawProcess = { type: hc.type };
  if (hc.intervalSec !== 30) raw.interval = duration(hc.intervalSec);
  if (hc.timeoutSec !== 5) raw.timeout = duration(hc.timeoutSec);
  if (hc.retries !== 3) raw.retries = hc.retries;
  if (hc.startPeriodSec !== 0) raw.start_period = duration(hc.startPeriodSec);
  if (hc.restartAfter !== 0) raw.restart_after = hc.restartAfter;
  if (hc.endpoint !== undefined) raw.endpoint = hc.endpoint;
  if (hc.method !== "GET") raw.method = hc.method;
  if (hc.expectedStatus !== 200) raw.expected_status = hc.expectedStatus;
  if (hc.host !== undefined) raw.host = hc.host;
  if (hc.port !== undefined) raw.port = hc.port;
  if (hc.command !== undefined) raw.command = hc.command;
  if (hc.args.length > 0) raw.args = [...hc.args];
  return raw;
}

/**
 * The YAML-shaped form of a resolved config, with only the fields that differ from the
 * defaults: `resolveProcessConfig(c.name, processConfigToRaw(c))` deep-equals `c`. Used to
 * persist API-created processes and to show a config as YAML.
 */
export function processConfigToRaw(config: ProcessConfig): RawProcess {
  const d = processDefaults;
  const raw: RawProcess = { command: config.command };
  if (config.args.length > 0) raw.args = [...config.args];
  if (config.description !== undefined) raw.description = config.description;
  if (config.user !== undefined) raw.user = config.user;
  if (config.group !== undefined) raw.group = config.group;
  if (config.workingDir !== undefined) raw.working_dir = config.workingDir;
  if (Object.keys(config.env).length > 0) raw.env = { ...config.env };
  if (config.environmentFile !== undefined) {
    const f = config.environmentFile;
    raw.environment_file = f.optional ? `-${f.path}` : f.path;
  }
  if (config.autoStart !== d.autoStart) raw.auto_start = config.autoStart;
  if (config.restart !== d.restart) raw.restart = config.restart;
  if (config.restartSec !== d.restartSec) raw.restart_sec = duration(config.restartSec);
  if (config.restartMaxDelaySec !== d.restartMaxDelaySec) {
    raw.restart_max_delay_sec = duration(config.restartMaxDelaySec);
  }
  if (config.startLimitBurst !== d.startLimitBurst) raw.start_limit_burst = config.startLimitBurst;
  if (config.startLimitIntervalSec !== d.startLimitIntervalSec) {
    raw.start_limit_interval_sec = duration(config.startLimitIntervalSec);
  }
  if (config.timeoutStartSec !== d.timeoutStartSec) {
    raw.timeout_start_sec = duration(config.timeoutStartSec);
  }
  if (config.timeoutStopSec !== d.timeoutStopSec) {
    raw.timeout_stop_sec = duration(config.timeoutStopSec);
  }
  if (config.killSignal !== d.killSignal) raw.kill_signal = config.killSignal;
  if (config.killMode !== d.killMode) raw.kill_mode = config.killMode;
  if (!sameList(config.successExitStatus, d.successExitStatus)) {
    raw.success_exit_status = [...config.successExitStatus];
  }
  if (config.stdout.kind !== "default") raw.stdout = output(config.stdout);
  if (config.stderr.kind !== "default") raw.stderr = output(config.stderr);
  if (config.pidfile !== undefined) raw.pidfile = config.pidfile;
  if (config.execStartPre.length > 0) raw.exec_start_pre = config.execStartPre.map((a) => [...a]);
  if (config.execStartPost.length > 0) {
    raw.exec_start_post = config.execStartPost.map((a) => [...a]);
  }
  if (config.execStopPost.length > 0) raw.exec_stop_post = config.execStopPost.map((a) => [...a]);
  if (config.runtimeDirectory.length > 0) raw.runtime_directory = [...config.runtimeDirectory];
  if (config.conditionPathExists.length > 0) {
    raw.condition_path_exists = config.conditionPathExists.map(condition);
  }
  if (config.ambientCapabilities.length > 0) {
    raw.ambient_capabilities = [...config.ambientCapabilities];
  }
  if (config.after.length > 0) raw.after = [...config.after];
  if (config.before.length > 0) raw.before = [...config.before];
  if (config.requires.length > 0) raw.requires = [...config.requires];
  if (config.wants.length > 0) raw.wants = [...config.wants];
  if (config.bindsTo.length > 0) raw.binds_to = [...config.bindsTo];
  if (config.conflicts.length > 0) raw.conflicts = [...config.conflicts];
  if (config.processType !== d.processType) raw.process_type = config.processType;
  if (config.healthCheck !== undefined) raw.health_check = healthCheckToRaw(config.healthCheck);
  if (config.resourceLimits !== undefined) {
    const rl = config.resourceLimits;
    const r: RawProcess = {};
    if (rl.cpu !== undefined) r.cpu = rl.cpu;
    if (rl.memoryBytes !== undefined) r.memory = rl.memoryBytes;
    if (rl.pids !== undefined) r.pids = rl.pids;
    raw.resource_limits = r;
  }
  return raw;
}
