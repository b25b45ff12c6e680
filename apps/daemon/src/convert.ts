import { userInfo } from "node:os";
import { create } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { OutputTarget, ProcessConfig, RawProcess } from "@procmgr/config";
import type { ProcessState as CoreState, ExitResult, ProcessInfo } from "@procmgr/core";
import { shellJoin as argvToString } from "@procmgr/platform";
import {
  type ExitInfo,
  ExitInfoSchema,
  HealthCheckType,
  KillMode,
  LogStream,
  ProcessSource,
  type ProcessSpec,
  ProcessSpecSchema,
  ProcessState,
  type ProcessStatus,
  ProcessType,
  RestartPolicy,
} from "@procmgr/rpc";

let cachedDaemonUser: string | undefined;
function daemonUser(): string {
  cachedDaemonUser ??= userInfo().username;
  return cachedDaemonUser;
}

export const redacted = "<redacted>";

const stateToProto: Record<CoreState, ProcessState> = {
  created: ProcessState.CREATED,
  starting: ProcessState.STARTING,
  running: ProcessState.RUNNING,
  stopping: ProcessState.STOPPING,
  stopped: ProcessState.STOPPED,
  exited: ProcessState.EXITED,
  failed: ProcessState.FAILED,
  backoff: ProcessState.BACKOFF,
};

export function protoState(s: CoreState): ProcessState {
  return stateToProto[s];
}

const restartNames: Record<string, RestartPolicy> = {
  never: RestartPolicy.NEVER,
  always: RestartPolicy.ALWAYS,
  "on-failure": RestartPolicy.ON_FAILURE,
  "on-success": RestartPolicy.ON_SUCCESS,
};
const killModeNames: Record<string, KillMode> = {
  "control-group": KillMode.CONTROL_GROUP,
  "process-group": KillMode.PROCESS_GROUP,
  process: KillMode.PROCESS,
  mixed: KillMode.MIXED,
};
const processTypeNames: Record<string, ProcessType> = {
  simple: ProcessType.SIMPLE,
  forking: ProcessType.FORKING,
  oneshot: ProcessType.ONESHOT,
  notify: ProcessType.NOTIFY,
};
const healthTypeNames: Record<string, HealthCheckType> = {
  http: HealthCheckType.HTTP,
  tcp: HealthCheckType.TCP,
  exec: HealthCheckType.EXEC,
};

function nameOf<T>(table: Record<string, T>, value: T): string | undefined {
  for (const [k, v] of Object.entries(table)) if (v === value) return k;
  return undefined;
}

export function streamName(s: LogStream): "stdout" | "stderr" {
  return s === LogStream.STDERR ? "stderr" : "stdout";
}

/** A process's runtime status as the API shows it. */
export function toProcessStatus(p: ProcessInfo): ProcessStatus {
  const exit = p.lastExit;
  // A message literal rather than create(): List builds 1,000 of these per call, and create()
  // walks the schema by reflection (convert.test.ts checks it is a complete message).
  const status: ProcessStatus = {
    $typeName: "procmgr.v1.ProcessStatus",
    id: p.id,
    name: p.name,
    pid: p.pid ?? 0,
    state: protoState(p.state),
    command: p.config.command,
    args: [...p.config.args],
    runCount: p.runCount,
    restartCount: p.restartCount,
    consecutiveFailures: p.consecutiveFailures,
    signal: exit?.signal ?? "",
    // Who it runs as: the configured user, else the daemon's own.
    user: p.config.user ?? daemonUser(),
    source: p.source === "api" ? ProcessSource.API : ProcessSource.CONFIG,
    failureReason: p.failureReason ?? "",
    uptimeSeconds: p.uptimeMs === undefined ? 0 : p.uptimeMs / 1000,
    autoStart: p.config.autoStart,
    restart: restartNames[p.config.restart] ?? RestartPolicy.UNSPECIFIED,
  };
  if (exit?.code !== undefined && exit.code !== null) status.exitCode = exit.code;
  if (p.nextRestartAt !== undefined) status.nextRestartAt = timestamp(p.nextRestartAt);
  status.createdAt = timestamp(p.createdAt);
  if (p.startedAt !== undefined) status.startedAt = timestamp(p.startedAt);
  if (p.endedAt !== undefined) status.endedAt = timestamp(p.endedAt);
  return status;
}

/** timestampFromDate as a literal (it goes through create(), by reflection). */
function timestamp(d: Date): Timestamp {
  const ms = d.getTime();
  const seconds = Math.floor(ms / 1000);
  return {
    $typeName: "google.protobuf.Timestamp",
    seconds: BigInt(seconds),
    nanos: (ms - seconds * 1000) * 1_000_000,
  };
}

export function toExitInfo(e: ExitResult): ExitInfo {
  return create(ExitInfoSchema, {
    ...(e.code !== null ? { code: e.code } : {}),
    signal: e.signal ?? "",
    stoppedByUs: e.stoppedByUs,
    timedOut: e.timedOut,
    spawnError: e.spawnError ?? "",
    success: e.success,
    startedAt: timestamp(e.startedAt),
    endedAt: timestamp(e.endedAt),
    durationSeconds: e.durationMs / 1000,
  });
}

function outputToString(t: OutputTarget): string {
  switch (t.kind) {
    case "default":
      return "";
    case "file":
      return t.path;
    default:
      return t.kind;
  }
}

/** The full (defaults filled) spec of a resolved config, for Describe. */
export function toProcessSpec(c: ProcessConfig, options: { redactEnv: boolean }): ProcessSpec {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.env)) env[k] = options.redactEnv ? redacted : v;
  const hc = c.healthCheck;
  const rl = c.resourceLimits;
  return create(ProcessSpecSchema, {
    name: c.name,
    command: c.command,
    args: [...c.args],
    description: c.description ?? "",
    user: c.user ?? "",
    group: c.group ?? "",
    workingDir: c.workingDir ?? "",
    env,
    environmentFile:
      c.environmentFile === undefined
        ? ""
        : `${c.environmentFile.optional ? "-" : ""}${c.environmentFile.path}`,
    autoStart: c.autoStart,
    restart: restartNames[c.restart] ?? RestartPolicy.UNSPECIFIED,
    restartSec: c.restartSec,
    restartMaxDelaySec: c.restartMaxDelaySec,
    startLimitBurst: c.startLimitBurst,
    startLimitIntervalSec: c.startLimitIntervalSec,
    timeoutStartSec: c.timeoutStartSec,
    timeoutStopSec: c.timeoutStopSec,
    killSignal: c.killSignal,
    killMode: killModeNames[c.killMode] ?? KillMode.UNSPECIFIED,
    successExitStatus: [...c.successExitStatus],
    stdout: outputToString(c.stdout),
    stderr: outputToString(c.stderr),
    pidfile: c.pidfile ?? "",
    execStartPre: c.execStartPre.map(argvToString),
    execStartPost: c.execStartPost.map(argvToString),
    execStopPost: c.execStopPost.map(argvToString),
    runtimeDirectory: [...c.runtimeDirectory],
    conditionPathExists: c.conditionPathExists.map(
      (p) => `${p.anyOf ? "|" : ""}${p.negate ? "!" : ""}${p.path}`,
    ),
    ambientCapabilities: [...c.ambientCapabilities],
    after: [...c.after],
    before: [...c.before],
    requires: [...c.requires],
    wants: [...c.wants],
    bindsTo: [...c.bindsTo],
    conflicts: [...c.conflicts],
    processType: processTypeNames[c.processType] ?? ProcessType.UNSPECIFIED,
    ...(hc === undefined
      ? {}
      : {
          healthCheck: {
            type: healthTypeNames[hc.type] ?? HealthCheckType.UNSPECIFIED,
            intervalSec: hc.intervalSec,
            timeoutSec: hc.timeoutSec,
            retries: hc.retries,
            startPeriodSec: hc.startPeriodSec,
            restartAfter: hc.restartAfter,
            endpoint: hc.endpoint ?? "",
            method: hc.method,
            expectedStatus: hc.expectedStatus,
            host: hc.host ?? "",
            ...(hc.port !== undefined ? { port: hc.port } : {}),
            command: hc.command ?? "",
            args: [...hc.args],
          },
        }),
    ...(rl === undefined
      ? {}
      : {
          resourceLimits: {
            cpu: rl.cpu === undefined ? "" : String(rl.cpu),
            memory: rl.memoryBytes === undefined ? "" : String(rl.memoryBytes),
            ...(rl.pids !== undefined ? { pids: rl.pids } : {}),
          },
        }),
  });
}

/** Every ProcessSpec field by its processes.yaml (snake_case) name; Update's `fields` use these. */
export const specFields = [
  "command",
  "args",
  "description",
  "user",
  "group",
  "working_dir",
  "env",
  "environment_file",
  "auto_start",
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
  "stdout",
  "stderr",
  "pidfile",
  "exec_start_pre",
  "exec_start_post",
  "exec_stop_post",
  "runtime_directory",
  "condition_path_exists",
  "ambient_capabilities",
  "after",
  "before",
  "requires",
  "wants",
  "binds_to",
  "conflicts",
  "process_type",
  "health_check",
  "resource_limits",
] as const;
export type SpecField = (typeof specFields)[number];

function nonEmpty<T>(list: readonly T[]): T[] | undefined {
  return list.length > 0 ? [...list] : undefined;
}
function str(s: string): string | undefined {
  return s === "" ? undefined : s;
}

function healthCheckToRaw(spec: ProcessSpec): Record<string, unknown> | undefined {
  const hc = spec.healthCheck;
  if (hc === undefined) return undefined;
  const raw: Record<string, unknown> = {};
  const type = nameOf(healthTypeNames, hc.type);
  if (type !== undefined) raw.type = type;
  if (hc.intervalSec !== undefined) raw.interval = hc.intervalSec;
  if (hc.timeoutSec !== undefined) raw.timeout = hc.timeoutSec;
  if (hc.retries !== undefined) raw.retries = hc.retries;
  if (hc.startPeriodSec !== undefined) raw.start_period = hc.startPeriodSec;
  if (hc.restartAfter !== undefined) raw.restart_after = hc.restartAfter;
  if (hc.endpoint !== "") raw.endpoint = hc.endpoint;
  if (hc.method !== "") raw.method = hc.method;
  if (hc.expectedStatus !== undefined) raw.expected_status = hc.expectedStatus;
  if (hc.host !== "") raw.host = hc.host;
  if (hc.port !== undefined) raw.port = hc.port;
  if (hc.command !== "") raw.command = hc.command;
  if (hc.args.length > 0) raw.args = [...hc.args];
  return raw;
}

function resourceLimitsToRaw(spec: ProcessSpec): Record<string, unknown> | undefined {
  const rl = spec.resourceLimits;
  if (rl === undefined) return undefined;
  const raw: Record<string, unknown> = {};
  if (rl.cpu !== "") raw.cpu = rl.cpu;
  if (rl.memory !== "") raw.memory = /^\d+$/.test(rl.memory) ? Number(rl.memory) : rl.memory;
  if (rl.pids !== undefined) raw.pids = rl.pids;
  return Object.keys(raw).length > 0 ? raw : undefined;
}

/** One spec field in its YAML shape; undefined = unset (the schema default applies). */
export function specFieldToRaw(spec: ProcessSpec, field: SpecField): unknown {
  switch (field) {
    case "command":
      return str(spec.command);
    case "args":
      return nonEmpty(spec.args);
    case "description":
      return str(spec.description);
    case "user":
      return str(spec.user);
    case "group":
      return str(spec.group);
    case "working_dir":
      return str(spec.workingDir);
    case "env":
      return Object.keys(spec.env).length > 0 ? { ...spec.env } : undefined;
    case "environment_file":
      return str(spec.environmentFile);
    case "auto_start":
      return spec.autoStart ? true : undefined;
    case "restart":
      return nameOf(restartNames, spec.restart);
    case "restart_sec":
      return spec.restartSec;
    case "restart_max_delay_sec":
      return spec.restartMaxDelaySec;
    case "start_limit_burst":
      return spec.startLimitBurst;
    case "start_limit_interval_sec":
      return spec.startLimitIntervalSec;
    case "timeout_start_sec":
      return spec.timeoutStartSec;
    case "timeout_stop_sec":
      return spec.timeoutStopSec;
    case "kill_signal":
      return str(spec.killSignal);
    case "kill_mode":
      return nameOf(killModeNames, spec.killMode);
    case "success_exit_status":
      return nonEmpty(spec.successExitStatus);
    case "stdout":
      return str(spec.stdout);
    case "stderr":
      return str(spec.stderr);
    case "pidfile":
      return str(spec.pidfile);
    case "exec_start_pre":
      return nonEmpty(spec.execStartPre);
    case "exec_start_post":
      return nonEmpty(spec.execStartPost);
    case "exec_stop_post":
      return nonEmpty(spec.execStopPost);
    case "runtime_directory":
      return nonEmpty(spec.runtimeDirectory);
    case "condition_path_exists":
      return nonEmpty(spec.conditionPathExists);
    case "ambient_capabilities":
      return nonEmpty(spec.ambientCapabilities);
    case "after":
      return nonEmpty(spec.after);
    case "before":
      return nonEmpty(spec.before);
    case "requires":
      return nonEmpty(spec.requires);
    case "wants":
      return nonEmpty(spec.wants);
    case "binds_to":
      return nonEmpty(spec.bindsTo);
    case "conflicts":
      return nonEmpty(spec.conflicts);
    case "process_type":
      return nameOf(processTypeNames, spec.processType);
    case "health_check":
      return healthCheckToRaw(spec);
    case "resource_limits":
      return resourceLimitsToRaw(spec);
  }
}

/**
 * A ProcessSpec in the YAML shape of one `processes.<name>` entry, unset fields omitted, so that
 * the API is validated by the very schema of the config file.
 */
export function specToRaw(spec: ProcessSpec): RawProcess {
  const raw: RawProcess = {};
  for (const f of specFields) {
    const v = specFieldToRaw(spec, f);
    if (v !== undefined) raw[f] = v;
  }
  return raw;
}

/** Update: the current raw config with the listed fields replaced (or reset when unset). */
export function mergeSpecFields(
  current: RawProcess,
  spec: ProcessSpec,
  fields: readonly SpecField[],
): RawProcess {
  const raw: RawProcess = { ...current };
  for (const f of fields) {
    const v = specFieldToRaw(spec, f);
    if (v === undefined) delete raw[f];
    else raw[f] = v;
  }
  return raw;
}

export function isSpecField(s: string): s is SpecField {
  return (specFields as readonly string[]).includes(s);
}
