import { shellQuote } from "@procmgr/platform";
import {
  type DescribeResponse,
  EventType,
  type ExitInfo,
  HealthCheckType,
  KillMode,
  ProcessSource,
  type ProcessSpec,
  ProcessState,
  type ProcessStatus,
  ProcessType,
  RestartPolicy,
  type WatchEventsResponse,
} from "@procmgr/rpc";

// Loaded lazily by the commands (it pulls in the generated RPC code).

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

export function restartPolicyName(r: RestartPolicy): string {
  return enumName(RestartPolicy, r, "");
}

export function killModeName(k: KillMode): string {
  return enumName(KillMode, k, "");
}

export function sourceName(s: ProcessSource): string {
  return enumName(ProcessSource, s, "");
}

export function processTypeName(t: ProcessType): string {
  return enumName(ProcessType, t, "");
}

export function eventTypeName(t: EventType): string {
  return enumName(EventType, t, "event").replaceAll("-", "_");
}

export function restartPolicyFrom(name: string): RestartPolicy | undefined {
  const n = name.trim().toLowerCase();
  if (n === "no") return RestartPolicy.NEVER;
  const key = n.replaceAll("-", "_").toUpperCase() as keyof typeof RestartPolicy;
  const v = RestartPolicy[key];
  return typeof v === "number" && v !== 0 ? v : undefined;
}

export function killModeFrom(name: string): KillMode | undefined {
  const key = name.trim().replaceAll("-", "_").toUpperCase() as keyof typeof KillMode;
  const v = KillMode[key];
  return typeof v === "number" && v !== 0 ? v : undefined;
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

/** The command line as one string, each argument quoted when needed. */
export function commandLine(command: string, args: readonly string[]): string {
  return [command, ...args.map(shellQuote)].join(" ");
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
  };
}

/** A setter into `target` that skips unset values (undefined, "", []). */
function setterOf(target: Record<string, unknown>): (k: string, v: unknown) => void {
  return (k, v) => {
    if (v === undefined || v === "" || (Array.isArray(v) && v.length === 0)) return;
    target[k] = v;
  };
}

/** The spec as processes.yaml would spell it: snake_case, only set fields. */
export function specToJson(s: ProcessSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = setterOf(out);
  put("command", s.command);
  put("args", [...s.args]);
  put("description", s.description);
  put("user", s.user);
  put("group", s.group);
  put("working_dir", s.workingDir);
  if (Object.keys(s.env).length > 0) out.env = { ...s.env };
  put("environment_file", s.environmentFile);
  out.auto_start = s.autoStart;
  put("restart", restartPolicyName(s.restart));
  put("restart_sec", s.restartSec);
  put("restart_max_delay_sec", s.restartMaxDelaySec);
  put("start_limit_burst", s.startLimitBurst);
  put("start_limit_interval_sec", s.startLimitIntervalSec);
  put("timeout_start_sec", s.timeoutStartSec);
  put("timeout_stop_sec", s.timeoutStopSec);
  put("kill_signal", s.killSignal);
  put("kill_mode", killModeName(s.killMode));
  put("success_exit_status", [...s.successExitStatus]);
  put("stdout", s.stdout);
  put("stderr", s.stderr);
  put("pidfile", s.pidfile);
  put("exec_start_pre", [...s.execStartPre]);
  put("exec_start_post", [...s.execStartPost]);
  put("exec_stop_post", [...s.execStopPost]);
  put("runtime_directory", [...s.runtimeDirectory]);
  put("condition_path_exists", [...s.conditionPathExists]);
  put("ambient_capabilities", [...s.ambientCapabilities]);
  put("after", [...s.after]);
  put("before", [...s.before]);
  put("requires", [...s.requires]);
  put("wants", [...s.wants]);
  put("binds_to", [...s.bindsTo]);
  put("conflicts", [...s.conflicts]);
  put("process_type", processTypeName(s.processType));
  const h = s.healthCheck;
  if (h !== undefined && h.type !== HealthCheckType.UNSPECIFIED) {
    const hc: Record<string, unknown> = { type: enumName(HealthCheckType, h.type, "") };
    const hput = setterOf(hc);
    hput("interval", h.intervalSec);
    hput("timeout", h.timeoutSec);
    hput("retries", h.retries);
    hput("start_period", h.startPeriodSec);
    hput("restart_after", h.restartAfter);
    hput("endpoint", h.endpoint);
    hput("method", h.method);
    hput("expected_status", h.expectedStatus);
    hput("host", h.host);
    hput("port", h.port);
    hput("command", h.command);
    hput("args", [...h.args]);
    out.health_check = hc;
  }
  const r = s.resourceLimits;
  if (r !== undefined && (r.cpu !== "" || r.memory !== "" || r.pids !== undefined)) {
    const rl: Record<string, unknown> = {};
    if (r.cpu !== "") rl.cpu = r.cpu;
    if (r.memory !== "") rl.memory = r.memory;
    if (r.pids !== undefined) rl.pids = r.pids;
    out.resource_limits = rl;
  }
  return out;
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
    started_at: timestampIso(e.startedAt),
    ended_at: timestampIso(e.endedAt),
    duration_seconds: e.durationSeconds,
  };
}

export function describeToJson(d: DescribeResponse): Record<string, unknown> {
  return {
    ...(d.process ? processToJson(d.process) : {}),
    spec: d.spec ? specToJson(d.spec) : null,
    last_exit: exitToJson(d.lastExit),
    stdout_path: d.stdoutPath || null,
    stderr_path: d.stderrPath || null,
    env_redacted: d.envRedacted,
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
  if (e.message !== "") parts.push(e.message);
  return parts.filter((p) => p !== "").join(" ");
}
