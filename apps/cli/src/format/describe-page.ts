import { type DescribedField, describedFields, specToJson } from "@procmgr/config";
import { commandLine } from "@procmgr/platform";
import type { DescribeResponse, ExitInfo, ProcessSpec, ProcessStatus } from "@procmgr/rpc";
import { type Colors, colorHealth, colorState } from "./color.js";
import { formatDuration } from "./duration.js";
import {
  cpuText,
  exitToJson,
  healthName,
  memoryText,
  oneLine,
  processToJson,
  sourceName,
  stateName,
  timestampIso,
} from "./process.js";

// Loaded lazily by `describe` (it pulls in the field table and the generated RPC code).

/** `describe -o json`: the status, and the spec as processes.yaml would spell it. */
export function describeToJson(d: DescribeResponse): Record<string, unknown> {
  return {
    ...(d.process ? processToJson(d.process) : {}),
    spec: d.spec ? specToJson(d.spec) : null,
    last_exit: exitToJson(d.lastExit),
    stdout_path: d.stdoutPath || null,
    stderr_path: d.stderrPath || null,
    stdout_journal: d.stdoutJournal,
    stderr_journal: d.stderrJournal,
    env_redacted: d.envRedacted,
  };
}

/** A stream's destination as describe shows it: its file, or the journal query that finds it. */
function outputShown(c: DescribeContext, stream: "stdout" | "stderr"): string {
  const journal = stream === "stdout" ? c.d.stdoutJournal : c.d.stderrJournal;
  if (!journal) return stream === "stdout" ? c.d.stdoutPath : c.d.stderrPath;
  const id = c.d.process?.id ?? "";
  return `journal (journalctl PROCMGR_PROCESS_ID=${id} PROCMGR_STREAM=${stream})`;
}

/** What the rows of the page read. */
export interface DescribeContext {
  readonly name: string;
  readonly d: DescribeResponse;
  readonly p: ProcessStatus | undefined;
  readonly s: ProcessSpec | undefined;
  readonly e: ExitInfo | undefined;
  readonly colors: Colors;
}

type Value = (c: DescribeContext) => string | undefined;

/**
 * A row of the page: a runtime value with its label, or a field of the spec, labelled and shown
 * as its row of the field table says (@procmgr/config's describedFields). `prefer` wins over
 * the field's text, `fallback` stands in for it; `note` follows a shown value after a semicolon.
 */
export type DescribeEntry =
  | { readonly label: string; readonly value: Value }
  | {
      readonly field: string;
      readonly prefer?: Value;
      readonly fallback?: Value;
      readonly note?: Value;
    };

const time =
  (pick: (c: DescribeContext) => Parameters<typeof timestampIso>[0]): Value =>
  (c) =>
    timestampIso(pick(c)) ?? undefined;

/**
 * "unhealthy (3 failures in a row)", then "last check <time>: HTTP 404 (expected 200)";
 * undefined without a running health check.
 */
function healthText(c: DescribeContext): string | undefined {
  const p = c.p;
  const status = p === undefined ? "" : healthName(p.healthStatus);
  if (p === undefined || status === "") return undefined;
  const n = p.healthCheckFailures;
  const failures = n === 0 ? "" : ` (${n} ${n === 1 ? "failure" : "failures"} in a row)`;
  const at = timestampIso(p.lastHealthCheck);
  const detail = oneLine(p.healthDetail);
  const last =
    at === null ? "no check yet" : `last check ${at}${detail === "" ? "" : `: ${detail}`}`;
  return `${colorHealth(c.colors, status)}${failures}\n${last}`;
}

/** The process's cgroup, unless the tracking line already names it. */
function cgroupText(c: DescribeContext): string | undefined {
  const e = c.p?.enforcement;
  if (e === undefined || e.cgroup === "" || e.tracking.includes(e.cgroup)) return undefined;
  return e.cgroup;
}

const exit =
  (show: (e: ExitInfo) => string | undefined): Value =>
  (c) =>
    c.e === undefined ? undefined : show(c.e);

/**
 * The sections of `describe` and their rows, in order. Every field the table describes is placed
 * here once (apps/cli/src/process-fields.test.ts checks it).
 */
export const describeLayout: readonly (readonly [title: string, rows: readonly DescribeEntry[]])[] =
  [
    [
      "Basic",
      [
        { label: "Name", value: (c) => c.p?.name ?? c.name },
        { label: "ID", value: (c) => c.p?.id },
        { field: "description" },
        { label: "Source", value: (c) => (c.p ? sourceName(c.p.source) : undefined) },
        {
          field: "command",
          // Without a spec, the command the status carries.
          fallback: (c) =>
            c.s === undefined && c.p ? commandLine(c.p.command, c.p.args) : undefined,
        },
      ],
    ],
    [
      "Runtime",
      [
        {
          label: "State",
          value: (c) => colorState(c.colors, c.p ? stateName(c.p.state) : "unknown"),
        },
        { label: "PID", value: (c) => (c.p && c.p.pid > 0 ? String(c.p.pid) : "-") },
        {
          label: "Uptime",
          value: (c) => (c.p && c.p.pid > 0 ? formatDuration(c.p.uptimeSeconds) : "-"),
        },
        { label: "CPU", value: (c) => (c.p?.usage ? cpuText(c.p) : undefined) },
        { label: "Memory", value: (c) => (c.p?.usage ? memoryText(c.p) : undefined) },
        { label: "Runs", value: (c) => (c.p ? String(c.p.runCount) : undefined) },
        { label: "Restarts", value: (c) => (c.p ? String(c.p.restartCount) : undefined) },
        {
          label: "Consecutive failures",
          value: (c) => (c.p ? String(c.p.consecutiveFailures) : undefined),
        },
        {
          label: "OOM kills",
          value: (c) => (c.p && c.p.oomKills > 0 ? String(c.p.oomKills) : undefined),
        },
        { label: "Health", value: healthText },
        { label: "Status", value: (c) => (c.p ? oneLine(c.p.statusText) : undefined) },
        { label: "Failure reason", value: (c) => c.p?.failureReason },
        { label: "Next restart", value: time((c) => c.p?.nextRestartAt) },
      ],
    ],
    [
      "Lifecycle",
      [
        { label: "Created", value: time((c) => c.p?.createdAt) },
        { label: "Started", value: time((c) => c.p?.startedAt) },
        { label: "Ended", value: time((c) => c.p?.endedAt) },
        { field: "auto_start" },
        { field: "restart" },
        { field: "restart_sec" },
        { field: "restart_max_delay_sec" },
        { field: "start_limit_burst" },
        { field: "timeout_start_sec" },
        { field: "timeout_stop_sec" },
        { field: "kill_signal" },
        { field: "kill_mode" },
        { field: "success_exit_status" },
      ],
    ],
    [
      "Exit",
      [
        { label: "Last exit", value: (c) => (c.e === undefined ? "-" : undefined) },
        { label: "Code", value: exit((e) => (e.code !== undefined ? String(e.code) : undefined)) },
        { label: "Signal", value: exit((e) => e.signal) },
        { label: "Success", value: exit((e) => String(e.success)) },
        { label: "Stopped by us", value: exit((e) => (e.stoppedByUs ? "yes" : undefined)) },
        { label: "Timed out", value: exit((e) => (e.timedOut ? "yes" : undefined)) },
        { label: "OOM killed", value: exit((e) => (e.oomKilled ? "yes" : undefined)) },
        { label: "Spawn error", value: exit((e) => e.spawnError) },
        { label: "Failure", value: exit((e) => e.failure) },
        { label: "Started", value: exit((e) => timestampIso(e.startedAt) ?? undefined) },
        { label: "Ended", value: exit((e) => timestampIso(e.endedAt) ?? undefined) },
        { label: "Duration", value: exit((e) => `${e.durationSeconds.toFixed(1)}s`) },
      ],
    ],
    [
      "Dependencies",
      [
        { field: "after" },
        { field: "before" },
        { field: "requires" },
        { field: "wants" },
        { field: "binds_to" },
        { field: "conflicts" },
      ],
    ],
    [
      "Configuration",
      [
        { field: "user", fallback: (c) => c.p?.user },
        { field: "group" },
        { field: "working_dir" },
        { field: "env" },
        { field: "environment_file" },
        // Where the output goes: the file, or the journal and how to read it there.
        { field: "stdout", prefer: (c) => outputShown(c, "stdout") },
        { field: "stderr", prefer: (c) => outputShown(c, "stderr") },
        { field: "log_max_size" },
        { field: "log_max_files" },
        { field: "log_timestamps" },
        { field: "pidfile" },
        { field: "process_type" },
        { field: "watchdog_sec" },
        { field: "exec_start_pre" },
        { field: "exec_start_post" },
        { field: "exec_stop_post" },
        { field: "runtime_directory" },
        { field: "condition_path_exists" },
        { field: "ambient_capabilities" },
        { field: "sockets" },
        { field: "start_on_connect" },
        { field: "health_check" },
      ],
    ],
    [
      "Resource limits",
      [
        // How the process is tracked; each limit says what enforces it, or why nothing does.
        { label: "Tracking", value: (c) => c.p?.enforcement?.tracking },
        { label: "Cgroup", value: cgroupText },
        { field: "resource_limits.cpu", note: (c) => c.p?.enforcement?.cpu },
        { field: "resource_limits.memory", note: (c) => c.p?.enforcement?.memory },
        { field: "resource_limits.pids", note: (c) => c.p?.enforcement?.pids },
      ],
    ],
  ];

const fieldsByPath = new Map<string, DescribedField>(describedFields.map((f) => [f.path, f]));

function entryRow(entry: DescribeEntry, c: DescribeContext): [string, string | undefined] {
  if ("label" in entry) return [entry.label, entry.value(c)];
  const field = fieldsByPath.get(entry.field);
  if (field === undefined) throw new Error(`describe: no field ${entry.field} in the table`);
  const text = c.s === undefined ? undefined : field.text(c.s);
  const value = entry.prefer?.(c) || text || entry.fallback?.(c);
  const note = value ? entry.note?.(c) : undefined;
  return [field.label, note ? `${value}; ${note}` : value];
}

/** The page: each section's title, then its rows with a value (`-` when there is none). */
export function renderDescribe(c: DescribeContext): string {
  let text = "";
  for (const [title, entries] of describeLayout) {
    const shown = entries
      .map((entry) => entryRow(entry, c))
      .filter((r): r is [string, string] => r[1] !== undefined && r[1] !== "");
    text += `${c.colors.bold(title)}\n`;
    if (shown.length === 0) {
      text += "  -\n";
      continue;
    }
    const width = Math.max(...shown.map(([l]) => l.length)) + 1;
    for (const [label, value] of shown) {
      const [first, ...more] = value.split("\n");
      text += `  ${`${label}:`.padEnd(width)} ${first}\n`;
      for (const line of more) text += `  ${" ".repeat(width)} ${line}\n`;
    }
  }
  if (c.d.envRedacted) {
    text += c.colors.grey("(environment values redacted: run with sudo to see them)\n");
  }
  return text;
}
