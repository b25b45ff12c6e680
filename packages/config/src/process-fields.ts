import { commandLine } from "@procmgr/platform";
import * as v from "valibot";
import * as codecs from "./field-codecs.js";
import {
  entriesOf,
  type FieldRow,
  field,
  message,
  messageField,
  optional,
  type SpecValues,
} from "./field-row.js";
import { outputFieldRows, socketAndDependencyRows } from "./io-and-dependency-fields.js";
import {
  HealthCheckSchema,
  healthCheckFieldTable,
  ResourceLimitsSchema,
  resourceLimitFieldTable,
} from "./nested-fields.js";
import { killModes, processTypes, restartPolicies, spellingsOf } from "./process-enums.js";
import * as leaf from "./process-schema.js";
import type {
  HealthCheck,
  KillMode,
  ProcessConfig,
  ProcessType,
  ResourceLimits,
  RestartPolicy,
} from "./types.js";

/*
 * THE table of process fields: one row per field of processes.yaml, in the order of the file
 * format (and of the proto's ProcessSpec). A row holds its YAML name, ProcessConfig key, leaf
 * schema, default, whether an update applies it hot, proto field, codec (its value in every
 * shape), CLI flag and help, and describe label. Derived from it: the valibot ProcessSchema and
 * its types, the ProcessConfig type (types.ts, inferred from the rows), `processDefaults`, `hotFields` and `changedFields`, every mapping between
 * processes.yaml, ProcessConfig and ProcessSpec (field-mapping.ts, config-to-raw.ts), the CLI's
 * flags, `-o json` and describe rows. apps/cli/src/process-fields.test.ts holds the table, the
 * .proto, the schema, the flags and the describe rows equal.
 *
 * Adding a field: a row here, a field in process_manager.proto, then the
 * code that acts on it.
 */

function textOf(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function wordsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

const rows = [
  // The command as written (it may hold inline arguments: `gunicorn app:app`).
  field({
    yaml: "command",
    key: "command",
    schema: leaf.commandSchema,
    required: true,
    proto: "command",
    codec: codecs.text,
    flag: {
      names: ["--command"],
      help: 'New command line ("node app.js"; replaces the arguments too)',
      updateOnly: true,
    },
    describe: {
      label: "Command",
      show: (s: SpecValues) => commandLine(textOf(s.command), wordsOf(s.args)),
    },
  }),
  // Shown with the command.
  field({
    yaml: "args",
    key: "args",
    schema: optional(leaf.argsSchema),
    default: [],
    proto: "args",
    codec: codecs.strings,
  }),
  field({
    yaml: "description",
    key: "description",
    schema: optional(leaf.descriptionSchema),
    hot: true,
    proto: "description",
    codec: codecs.text,
    flag: { names: ["--description"], help: "Human description" },
    describe: { label: "Description" },
  }),
  field({
    yaml: "user",
    key: "user",
    schema: optional(leaf.userOrGroupSchema("user")),
    proto: "user",
    codec: codecs.text,
    flag: { names: ["--user"], help: "Run as this user" },
    describe: { label: "User" },
  }),
  field({
    yaml: "group",
    key: "group",
    schema: optional(leaf.userOrGroupSchema("group")),
    proto: "group",
    codec: codecs.text,
    flag: { names: ["--group"], help: "Run with this group" },
    describe: { label: "Group" },
  }),
  field({
    yaml: "working_dir",
    key: "workingDir",
    schema: optional(leaf.pathSchema("directory")),
    proto: "working_dir",
    codec: codecs.text,
    flag: { names: ["--working-dir", "--cwd"], help: "Working directory" },
    describe: { label: "Working dir" },
  }),
  field({
    yaml: "env",
    key: "env",
    schema: optional(leaf.envSchema),
    default: {},
    proto: "env",
    codec: codecs.environment,
    flag: { names: ["--env"], help: "Environment variable KEY=VALUE (repeatable)" },
    describe: { label: "Environment" },
  }),
  // Written with a leading `-`, a missing file is not an error.
  field({
    yaml: "environment_file",
    key: "environmentFile",
    schema: optional(leaf.environmentFileSchema),
    proto: "environment_file",
    codec: codecs.environmentFile,
    flag: {
      names: ["--env-file", "--environment-file"],
      help: "File of KEY=VALUE lines (a leading - makes it optional)",
    },
    describe: { label: "Environment file" },
  }),
  field({
    yaml: "auto_start",
    key: "autoStart",
    schema: optional(leaf.booleanSchema),
    default: false,
    hot: true,
    proto: "auto_start",
    codec: codecs.bool,
    flag: {
      names: ["--auto-start"],
      help: "Start now and whenever the daemon starts (--no-auto-start to clear)",
    },
    describe: { label: "Auto start" },
  }),
  field({
    yaml: "restart",
    key: "restart",
    schema: optional(leaf.picklistSchema(spellingsOf(restartPolicies))),
    default: "never",
    hot: true,
    proto: "restart",
    codec: codecs.enumeration<RestartPolicy>(restartPolicies),
    flag: {
      names: ["--restart"],
      help: `Restart policy: ${spellingsOf(restartPolicies).join(", ")}`,
      aliases: { no: "never" },
    },
    describe: { label: "Restart" },
  }),
  field({
    yaml: "restart_sec",
    key: "restartSec",
    schema: optional(leaf.durationSchema),
    default: 1,
    hot: true,
    proto: "restart_sec",
    codec: codecs.seconds,
    flag: { names: ["--restart-sec"], help: "Delay before a restart (seconds or 500ms, 1m30s)" },
    describe: { label: "Restart delay" },
  }),
  // Unset, the cap is this default or restart_sec, whichever is larger (resolve-process.ts).
  field({
    yaml: "restart_max_delay_sec",
    key: "restartMaxDelaySec",
    schema: optional(leaf.durationSchema),
    default: 60,
    hot: true,
    proto: "restart_max_delay_sec",
    codec: codecs.seconds,
    flag: { names: ["--restart-max-delay-sec"], help: "Cap of the exponential restart delay" },
    describe: { label: "Restart max delay" },
  }),
  field({
    yaml: "start_limit_burst",
    key: "startLimitBurst",
    schema: optional(leaf.integerSchema(0)),
    default: 5,
    hot: true,
    proto: "start_limit_burst",
    codec: codecs.count,
    flag: {
      names: ["--start-limit-burst"],
      help: "Starts allowed within the interval before the process is failed",
    },
    describe: {
      label: "Start limit",
      show: (s: SpecValues) =>
        s.startLimitBurst === undefined
          ? undefined
          : `${String(s.startLimitBurst)} in ${String(s.startLimitIntervalSec ?? "?")}s`,
    },
  }),
  // Shown in "Start limit".
  field({
    yaml: "start_limit_interval_sec",
    key: "startLimitIntervalSec",
    schema: optional(leaf.durationSchema),
    default: 10,
    hot: true,
    proto: "start_limit_interval_sec",
    codec: codecs.seconds,
    flag: { names: ["--start-limit-interval-sec"], help: "The start limit window" },
  }),
  field({
    yaml: "timeout_start_sec",
    key: "timeoutStartSec",
    schema: optional(leaf.durationSchema),
    default: 90,
    hot: true,
    proto: "timeout_start_sec",
    codec: codecs.seconds,
    flag: { names: ["--timeout-start-sec"], help: "How long starting may take" },
    describe: { label: "Start timeout" },
  }),
  field({
    yaml: "timeout_stop_sec",
    key: "timeoutStopSec",
    schema: optional(leaf.durationSchema),
    default: 90,
    hot: true,
    proto: "timeout_stop_sec",
    codec: codecs.seconds,
    flag: {
      names: ["--timeout-stop-sec"],
      help: "Grace period after the kill signal before SIGKILL",
    },
    describe: { label: "Stop timeout" },
  }),
  // A normalised signal name, "SIGTERM" (numbers in YAML become names).
  field({
    yaml: "kill_signal",
    key: "killSignal",
    schema: optional(leaf.signalSchema),
    default: "SIGTERM",
    hot: true,
    proto: "kill_signal",
    codec: codecs.text,
    flag: { names: ["--kill-signal"], help: "Stop signal: SIGTERM, TERM or 15" },
    describe: { label: "Kill signal" },
  }),
  field({
    yaml: "kill_mode",
    key: "killMode",
    schema: optional(leaf.picklistSchema(spellingsOf(killModes))),
    default: "control-group",
    hot: true,
    proto: "kill_mode",
    codec: codecs.enumeration<KillMode>(killModes),
    flag: {
      names: ["--kill-mode"],
      help: `Who gets the stop signal: ${spellingsOf(killModes).join(", ")}`,
    },
    describe: { label: "Kill mode" },
  }),
  field({
    yaml: "success_exit_status",
    key: "successExitStatus",
    schema: optional(leaf.exitStatusSchema),
    default: [0],
    hot: true,
    proto: "success_exit_status",
    codec: codecs.exitStatuses,
    flag: {
      names: ["--success-exit-status"],
      help: "Exit codes counted as success (repeatable or comma-separated)",
    },
    describe: { label: "Success exit status" },
  }),
  ...outputFieldRows,
  field({
    yaml: "pidfile",
    key: "pidfile",
    schema: optional(leaf.pathSchema("path")),
    proto: "pidfile",
    codec: codecs.text,
    flag: { names: ["--pidfile"], help: "PID file to write" },
    describe: { label: "PID file" },
  }),
  // Hooks: each an argv, split like `command`.
  field({
    yaml: "exec_start_pre",
    key: "execStartPre",
    schema: optional(leaf.hookSchema),
    default: [],
    proto: "exec_start_pre",
    codec: codecs.hooks,
    describe: { label: "Exec start pre" },
  }),
  field({
    yaml: "exec_start_post",
    key: "execStartPost",
    schema: optional(leaf.hookSchema),
    default: [],
    proto: "exec_start_post",
    codec: codecs.hooks,
    describe: { label: "Exec start post" },
  }),
  field({
    yaml: "exec_stop_post",
    key: "execStopPost",
    schema: optional(leaf.hookSchema),
    default: [],
    proto: "exec_stop_post",
    codec: codecs.hooks,
    describe: { label: "Exec stop post" },
  }),
  // Names relative to /run (or $XDG_RUNTIME_DIR for a non-root daemon).
  field({
    yaml: "runtime_directory",
    key: "runtimeDirectory",
    schema: optional(leaf.runtimeDirectorySchema),
    default: [],
    proto: "runtime_directory",
    codec: codecs.strings,
    describe: { label: "Runtime directory" },
  }),
  field({
    yaml: "condition_path_exists",
    key: "conditionPathExists",
    schema: optional(leaf.conditionSchema),
    default: [],
    proto: "condition_path_exists",
    codec: codecs.conditions,
    describe: { label: "Condition path exists" },
  }),
  // Upper case with the CAP_ prefix: "CAP_NET_BIND_SERVICE".
  field({
    yaml: "ambient_capabilities",
    key: "ambientCapabilities",
    schema: optional(leaf.capabilitiesSchema),
    default: [],
    proto: "ambient_capabilities",
    codec: codecs.strings,
    describe: { label: "Ambient capabilities" },
  }),
  ...socketAndDependencyRows,
  field({
    yaml: "process_type",
    key: "processType",
    schema: optional(leaf.picklistSchema(spellingsOf(processTypes))),
    default: "simple",
    proto: "process_type",
    codec: codecs.enumeration<ProcessType>(processTypes),
    flag: {
      names: ["--type", "--process-type"],
      help: `When it is ready: ${spellingsOf(processTypes).join(", ")}`,
    },
    describe: { label: "Process type" },
  }),
  // A notify process that sends no WATCHDOG=1 within this is restarted; 0 = no watchdog.
  field({
    yaml: "watchdog_sec",
    key: "watchdogSec",
    schema: optional(leaf.durationSchema),
    default: 0,
    proto: "watchdog_sec",
    codec: codecs.seconds,
    flag: {
      names: ["--watchdog-sec"],
      help: "Restart a notify process silent this long (sd_notify WATCHDOG=1); 0 = off",
    },
    describe: {
      label: "Watchdog",
      show: (s: SpecValues) =>
        typeof s.watchdogSec !== "number"
          ? undefined
          : s.watchdogSec > 0
            ? `${s.watchdogSec}s`
            : "off",
    },
  }),
  messageField({
    yaml: "health_check",
    key: "healthCheck",
    schema: optional(HealthCheckSchema),
    hot: true,
    proto: "health_check",
    codec: message<HealthCheck>(healthCheckFieldTable, ["type"]),
    describe: { label: "Health check" },
    fields: healthCheckFieldTable,
  }),
  // Shown by its own rows (CPU, Memory, PIDs).
  messageField({
    yaml: "resource_limits",
    key: "resourceLimits",
    schema: optional(ResourceLimitsSchema),
    hot: true,
    proto: "resource_limits",
    codec: message<ResourceLimits>(resourceLimitFieldTable, []),
    fields: resourceLimitFieldTable,
  }),
] as const;

/** The table as written: its literal types give ProcessConfig (types.ts) and the schema's. */
export type ProcessFieldTable = typeof rows;

/** The table, each row read as a FieldRow (any column). */
export const processFieldTable: readonly FieldRow[] = rows;

/** One process of processes.yaml, as written (snake_case); the output holds normalised values. */
export const ProcessSchema = v.object(entriesOf(rows));
export type ProcessInput = v.InferInput<typeof ProcessSchema>;
export type ProcessOutput = v.InferOutput<typeof ProcessSchema>;

/** A field of processes.yaml (and of ProcessSpec, which also has `name`). */
export type ProcessFieldName = ProcessFieldTable[number]["yaml"];

/** The snake_case field names, per object kind (for unknown-key checks and did-you-mean). */
export const processFields: readonly ProcessFieldName[] = rows.map((row) => row.yaml);
export const healthCheckFields: readonly string[] = healthCheckFieldTable.map((row) => row.yaml);
export const resourceLimitFields: readonly string[] = resourceLimitFieldTable.map((r) => r.yaml);

/** The keys of the rows with a default. */
type DefaultedKey = Extract<ProcessFieldTable[number], { readonly default: unknown }>["key"];

/** The default of every field that has one (the table's `default` column). */
export const processDefaults = Object.fromEntries(
  processFieldTable.flatMap((row) => (row.default === undefined ? [] : [[row.key, row.default]])),
) as { readonly [K in DefaultedKey]: ProcessConfig[K] };
