import { userInfo } from "node:os";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { type ProcessConfig, processConfigToSpec, restartPolicies } from "@procmgr/config";
import type {
  Enforcement as CoreEnforcement,
  HealthStatus as CoreHealthStatus,
  ProcessState as CoreState,
  ExitResult,
  ProcessInfo,
  ResourceUsage,
} from "@procmgr/core";
import {
  type Enforcement,
  type ExitInfo,
  ExitInfoSchema,
  HealthStatus,
  LogStream,
  ProcessSource,
  type ProcessSpec,
  ProcessSpecSchema,
  ProcessState,
  type ProcessStatus,
  UsageSource,
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

const healthToProto: Record<CoreHealthStatus, HealthStatus> = {
  unknown: HealthStatus.UNKNOWN,
  healthy: HealthStatus.HEALTHY,
  unhealthy: HealthStatus.UNHEALTHY,
};

/** A health check's status; UNSPECIFIED = no health check (none configured, or not running). */
export function protoHealth(s: CoreHealthStatus | undefined): HealthStatus {
  return s === undefined ? HealthStatus.UNSPECIFIED : healthToProto[s];
}

const usageSourceToProto: Record<ResourceUsage["source"], UsageSource> = {
  cgroup: UsageSource.CGROUP,
  "process group": UsageSource.PROCESS_GROUP,
};

/** Where a process's resource usage was read: its cgroup, or its process group. */
export function protoUsageSource(s: ResourceUsage["source"]): UsageSource {
  return usageSourceToProto[s];
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
    restart: restartPolicies[p.config.restart],
    statusText: p.statusText ?? "",
    healthStatus: protoHealth(p.health?.status),
    healthCheckFailures: p.health?.consecutiveFailures ?? 0,
    healthDetail: p.health?.lastResult?.detail ?? "",
    enforcement: toEnforcement(p.enforcement),
    oomKills: p.oomKills,
  };
  if (exit?.code !== undefined && exit.code !== null) status.exitCode = exit.code;
  if (p.nextRestartAt !== undefined) status.nextRestartAt = timestamp(p.nextRestartAt);
  status.createdAt = timestamp(p.createdAt);
  if (p.startedAt !== undefined) status.startedAt = timestamp(p.startedAt);
  if (p.endedAt !== undefined) status.endedAt = timestamp(p.endedAt);
  if (p.health?.lastCheckAt !== undefined) status.lastHealthCheck = timestamp(p.health.lastCheckAt);
  return status;
}

/** How a process is tracked and its limits enforced; "" for a limit that is not configured. */
function toEnforcement(e: CoreEnforcement): Enforcement {
  return {
    $typeName: "procmgr.v1.Enforcement",
    tracking: e.tracking,
    cgroup: e.cgroup ?? "",
    memory: e.memory ?? "",
    cpu: e.cpu ?? "",
    pids: e.pids ?? "",
  };
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

/**
 * Why a run failed when its exit status does not say it, as the logs and events show it: an OOM
 * kill is a SIGKILL, so it is named even by a record without the failure text.
 */
export function exitFailure(e: ExitResult): string | undefined {
  return e.failure ?? (e.oomKilled ? "killed by the OOM killer" : undefined);
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
    failure: e.failure ?? "",
    oomKilled: e.oomKilled ?? false,
  });
}

/**
 * The full (defaults filled) spec of a resolved config, for Describe: each field as its row of
 * the field table writes it (@procmgr/config's processConfigToSpec).
 */
export function toProcessSpec(c: ProcessConfig, options: { redactEnv: boolean }): ProcessSpec {
  const spec = create(
    ProcessSpecSchema,
    processConfigToSpec(c) as MessageInitShape<typeof ProcessSpecSchema>,
  );
  if (options.redactEnv) {
    for (const name of Object.keys(spec.env)) spec.env[name] = redacted;
  }
  return spec;
}
