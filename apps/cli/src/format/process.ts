import { formatBytes } from "@procmgr/platform";
import {
  type Enforcement,
  EventType,
  type ExitInfo,
  HealthStatus,
  ProcessSource,
  ProcessState,
  type ProcessStatus,
  RestartPolicy,
  UsageSource,
  type WatchEventsResponse,
} from "@procmgr/rpc";

// Loaded lazily by the commands (it pulls in the generated RPC code). Not the field table of
// @procmgr/config: `list` and the lifecycle verbs should not load it.

type Timestamp = { seconds: bigint; nanos: number } | undefined;

/** Lowercase, dash-separated enum value name: ON_FAILURE -> "on-failure"; 0 -> fallback. */
function enumName(e: Record<number, string>, v: number, fallback: string): string {
  if (v === 0) return fallback;
  const name = e[v];
  return name === undefined ? String(v) : name.toLowerCase().replaceAll("_", "-");
}

/** created, starting, running, stopping, stopped, exited, failed, backoff ("unknown" for 0). */
export function stateName(s: ProcessState): string {
  return enumName(ProcessState, s, "unknown");
}

/**
 * "on-failure"; "" for UNSPECIFIED. The status's restart policy, by the rule of every enum here
 * (the proto's value name in lower case); process-fields.test.ts holds the field table's
 * spellings equal to it.
 */
export function restartPolicyName(r: RestartPolicy): string {
  return enumName(RestartPolicy, r, "");
}

/** "healthy", "unhealthy", "unknown"; "" when the process has no health check running. */
export function healthName(h: HealthStatus): string {
  return enumName(HealthStatus, h, "");
}

export function sourceName(s: ProcessSource): string {
  return enumName(ProcessSource, s, "");
}

/** Where `stats` was read: "cgroup", "process-group"; "" for UNSPECIFIED (an older daemon). */
export function usageSourceName(s: UsageSource): string {
  return enumName(UsageSource, s, "");
}

export function eventTypeName(t: EventType): string {
  return enumName(EventType, t, "event").replaceAll("-", "_");
}

export function timestampMs(ts: Timestamp): number | undefined {
  if (ts === undefined) return undefined;
  const ms = Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
  return ms > 0 ? ms : undefined;
}

export function timestampIso(ts: Timestamp): string | null {
  const ms = timestampMs(ts);
  return ms === undefined ? null : new Date(ms).toISOString();
}

/** The stable JSON shape of a process in `list -o json` (snake_case, lowercase states). */
export function processToJson(p: ProcessStatus): Record<string, unknown> {
  return {
    name: p.name,
    id: p.id,
    pid: p.pid > 0 ? p.pid : null,
    state: stateName(p.state),
    restarts: p.restartCount,
    run_count: p.runCount,
    consecutive_failures: p.consecutiveFailures,
    exit_code: p.exitCode ?? null,
    signal: p.signal || null,
    user: p.user || null,
    command: p.command,
    args: [...p.args],
    uptime_seconds: p.uptimeSeconds,
    source: sourceName(p.source) || null,
    auto_start: p.autoStart,
    restart: restartPolicyName(p.restart) || null,
    failure_reason: p.failureReason || null,
    next_restart_at: timestampIso(p.nextRestartAt),
    created_at: timestampIso(p.createdAt),
    started_at: timestampIso(p.startedAt),
    ended_at: timestampIso(p.endedAt),
    status_text: p.statusText || null,
    health: healthName(p.healthStatus) || null,
    health_check_failures: p.healthCheckFailures,
    last_health_check: timestampIso(p.lastHealthCheck),
    health_detail: p.healthDetail || null,
    enforcement: enforcementToJson(p.enforcement),
    oom_kills: p.oomKills,
    usage:
      p.usage === undefined
        ? null
        : {
            cpu_seconds: p.usage.cpuSeconds ?? null,
            cpu_percent: p.usage.cpuPercent,
            memory_bytes: p.usage.memoryBytes === undefined ? null : Number(p.usage.memoryBytes),
          },
  };
}

/** The cgroup's CPU share since the previous reading, "-" without one. */
export function cpuText(p: ProcessStatus): string {
  return p.usage?.cpuSeconds === undefined ? "-" : `${p.usage.cpuPercent.toFixed(1)}%`;
}

/** The memory charged to the cgroup, "-" without one. */
export function memoryText(p: ProcessStatus): string {
  const m = p.usage?.memoryBytes;
  return m === undefined ? "-" : formatBytes(Number(m));
}

/** How a process is tracked and each limit enforced; null for what is not said. */
function enforcementToJson(e: Enforcement | undefined): Record<string, unknown> | null {
  if (e === undefined) return null;
  return {
    tracking: e.tracking || null,
    cgroup: e.cgroup || null,
    memory: e.memory || null,
    cpu: e.cpu || null,
    pids: e.pids || null,
  };
}

export function exitToJson(e: ExitInfo | undefined): Record<string, unknown> | null {
  if (e === undefined) return null;
  return {
    code: e.code ?? null,
    signal: e.signal || null,
    success: e.success,
    stopped_by_us: e.stoppedByUs,
    timed_out: e.timedOut,
    spawn_error: e.spawnError || null,
    failure: e.failure || null,
    oom_killed: e.oomKilled,
    started_at: timestampIso(e.startedAt),
    ended_at: timestampIso(e.endedAt),
    duration_seconds: e.durationSeconds,
  };
}

export function eventToJson(e: WatchEventsResponse): Record<string, unknown> {
  return {
    time: timestampIso(e.time),
    type: eventTypeName(e.type),
    id: e.processId || null,
    name: e.processName || null,
    state: e.state === ProcessState.UNSPECIFIED ? null : stateName(e.state),
    previous_state:
      e.previousState === ProcessState.UNSPECIFIED ? null : stateName(e.previousState),
    exit_code: e.exitCode ?? null,
    signal: e.signal || null,
    message: e.message || null,
  };
}

/**
 * A text a process wrote (its STATUS=) as one printable line: whitespace runs (newlines, tabs)
 * become one space, other control characters (a terminal's escapes) are dropped.
 */
export function oneLine(text: string): string {
  return (
    text
      .replace(/\s+/g, " ")
      // biome-ignore lint/suspicious/noControlCharactersInRegex: dropping them is the point
      .replace(/[\u0000-\u001f\u007f-\u009f]/g, "")
      .trim()
  );
}

/** "exit 0", "SIGTERM", "-" */
export function exitSummary(p: ProcessStatus): string {
  if (p.signal !== "") return p.signal;
  if (p.exitCode !== undefined) return String(p.exitCode);
  return "-";
}

/** One human line per event: "12:00:01 myapp running (was starting)". */
export function eventLine(e: WatchEventsResponse): string {
  const ms = timestampMs(e.time);
  const time = ms === undefined ? "" : new Date(ms).toISOString();
  const who = e.processName || e.processId || "-";
  const parts = [time, who, eventTypeName(e.type)];
  if (e.type === EventType.STATE_CHANGED || e.state !== ProcessState.UNSPECIFIED) {
    const prev =
      e.previousState !== ProcessState.UNSPECIFIED ? ` (was ${stateName(e.previousState)})` : "";
    if (e.state !== ProcessState.UNSPECIFIED) parts.push(`${stateName(e.state)}${prev}`);
  }
  if (e.exitCode !== undefined) parts.push(`exit=${e.exitCode}`);
  if (e.signal !== "") parts.push(`signal=${e.signal}`);
  if (e.message !== "") parts.push(oneLine(e.message));
  return parts.filter((p) => p !== "").join(" ");
}

/** A warning line for each configured limit the daemon cannot enforce ("not enforced: why"). */
export function unenforcedWarnings(p: ProcessStatus | undefined): string[] {
  const e = p?.enforcement;
  if (e === undefined) return [];
  const limits: [string, string][] = [
    ["cpu", e.cpu],
    ["memory", e.memory],
    ["pids", e.pids],
  ];
  return limits
    .filter(([, how]) => how.startsWith("not enforced"))
    .map(([name, how]) => `warning: ${p?.name}: resource_limits.${name} ${how}\n`);
}
