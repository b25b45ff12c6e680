import { commandLine } from "@procmgr/platform";
import * as v from "valibot";
import * as codecs from "./field-codecs.js";
import { entriesOf, message, optional, rowsOf, type SpecValues } from "./field-row.js";
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
 * its types, `processDefaults`, `hotFields` and `changedFields`, every mapping between
 * processes.yaml, ProcessConfig and ProcessSpec (field-mapping.ts, config-to-raw.ts), the CLI's
 * flags, `-o json` and describe rows. apps/cli/src/process-fields.test.ts holds the table, the
 * .proto, the schema, the flags and the describe rows equal.
 *
 * Adding a field: a row here (and in ProcessConfig), a field in process_manager.proto, then the
 * code that acts on it.
 */

const processField = rowsOf<ProcessConfig>();

function textOf(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function wordsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

export const processFieldTable = [
  processField({
    yaml: "command",
    key: "command",
    schema: leaf.commandSchema,
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
  processField({
    yaml: "args",
    key: "args",
    schema: optional(leaf.argsSchema),
    default: [],
    proto: "args",
    codec: codecs.strings,
  }),
  processField({
    yaml: "description",
    key: "description",
    schema: optional(leaf.descriptionSchema),
    hot: true,
    proto: "description",
    codec: codecs.text,
    flag: { names: ["--description"], help: "Human description" },
    describe: { label: "Description" },
  }),
  processField({
    yaml: "user",
    key: "user",
    schema: optional(leaf.userOrGroupSchema("user")),
    proto: "user",
    codec: codecs.text,
    flag: { names: ["--user"], help: "Run as this user" },
    describe: { label: "User" },
  }),
  processField({
    yaml: "group",
    key: "group",
    schema: optional(leaf.userOrGroupSchema("group")),
    proto: "group",
    codec: codecs.text,
    flag: { names: ["--group"], help: "Run with this group" },
    describe: { label: "Group" },
  }),
  processField({
    yaml: "working_dir",
    key: "workingDir",
    schema: optional(leaf.pathSchema("directory")),
    proto: "working_dir",
    codec: codecs.text,
    flag: { names: ["--working-dir", "--cwd"], help: "Working directory" },
    describe: { label: "Working dir" },
  }),
  processField({
    yaml: "env",
    key: "env",
    schema: optional(leaf.envSchema),
    default: {},
    proto: "env",
    codec: codecs.environment,
    flag: { names: ["--env"], help: "Environment variable KEY=VALUE (repeatable)" },
    describe: { label: "Environment" },
  }),
  processField({
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
  processField({
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
  processField({
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
  processField({
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
  processField({
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
  processField({
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
  processField({
    yaml: "start_limit_interval_sec",
    key: "startLimitIntervalSec",
    schema: optional(leaf.durationSchema),
    default: 10,
    hot: true,
    proto: "start_limit_interval_sec",
    codec: codecs.seconds,
    flag: { names: ["--start-limit-interval-sec"], help: "The start limit window" },
  }),
  processField({
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
  processField({
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
  processField({
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
  processField({
    yaml: "kill_mode",
    key: "killMode",
    schema: optional(leaf.picklistSchema(spellingsOf(killModes))),
    default: "process-group",
    hot: true,
    proto: "kill_mode",
    codec: codecs.enumeration<KillMode>(killModes),
    flag: {
      names: ["--kill-mode"],
      help: `Who gets the stop signal: ${spellingsOf(killModes).join(", ")}`,
    },
    describe: { label: "Kill mode" },
  }),
  processField({
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
  // YAML null (or "null") discards the stream: the leaf reads null itself.
  processField({
    yaml: "stdout",
    key: "stdout",
    schema: v.optional(leaf.outputSchema),
    default: { kind: "default" },
    proto: "stdout",
    codec: codecs.outputTarget,
    flag: {
      names: ["--stdout"],
      help: 'Stdout file, "inherit" or "null" (default: the daemon\'s log file)',
    },
    describe: { label: "Stdout" },
  }),
  processField({
    yaml: "stderr",
    key: "stderr",
    schema: v.optional(leaf.outputSchema),
    default: { kind: "default" },
    proto: "stderr",
    codec: codecs.outputTarget,
    flag: {
      names: ["--stderr"],
      help: 'Stderr file, "inherit" or "null" (default: the daemon\'s log file)',
    },
    describe: { label: "Stderr" },
  }),
  processField({
    yaml: "pidfile",
    key: "pidfile",
    schema: optional(leaf.pathSchema("path")),
    proto: "pidfile",
    codec: codecs.text,
    flag: { names: ["--pidfile"], help: "PID file to write" },
    describe: { label: "PID file" },
  }),
  processField({
    yaml: "exec_start_pre",
    key: "execStartPre",
    schema: optional(leaf.hookSchema),
    default: [],
    proto: "exec_start_pre",
    codec: codecs.hooks,
    describe: { label: "Exec start pre" },
  }),
  processField({
    yaml: "exec_start_post",
    key: "execStartPost",
    schema: optional(leaf.hookSchema),
    default: [],
    proto: "exec_start_post",
    codec: codecs.hooks,
    describe: { label: "Exec start post" },
  }),
  processField({
    yaml: "exec_stop_post",
    key: "execStopPost",
    schema: optional(leaf.hookSchema),
    default: [],
    proto: "exec_stop_post",
    codec: codecs.hooks,
    describe: { label: "Exec stop post" },
  }),
  processField({
    yaml: "runtime_directory",
    key: "runtimeDirectory",
    schema: optional(leaf.runtimeDirectorySchema),
    default: [],
    proto: "runtime_directory",
    codec: codecs.strings,
    describe: { label: "Runtime directory" },
  }),
  processField({
    yaml: "condition_path_exists",
    key: "conditionPathExists",
    schema: optional(leaf.conditionSchema),
    default: [],
    proto: "condition_path_exists",
    codec: codecs.conditions,
    describe: { label: "Condition path exists" },
  }),
  processField({
    yaml: "ambient_capabilities",
    key: "ambientCapabilities",
    schema: optional(leaf.capabilitiesSchema),
    default: [],
    proto: "ambient_capabilities",
    codec: codecs.strings,
    describe: { label: "Ambient capabilities" },
  }),
  processField({
    yaml: "after",
    key: "after",
    schema: optional(leaf.dependencySchema),
    default: [],
    hot: true,
    proto: "after",
    codec: codecs.strings,
    flag: { names: ["--after"], help: "Start after these processes (repeatable)" },
    describe: { label: "After" },
  }),
  processField({
    yaml: "before",
    key: "before",
    schema: optional(leaf.dependencySchema),
    default: [],
    hot: true,
    proto: "before",
    codec: codecs.strings,
    flag: { names: ["--before"], help: "Start before these processes (repeatable)" },
    describe: { label: "Before" },
  }),
  processField({
    yaml: "requires",
    key: "requires",
    schema: optional(leaf.dependencySchema),
    default: [],
    hot: true,
    proto: "requires",
    codec: codecs.strings,
    flag: { names: ["--requires"], help: "Hard dependencies (repeatable)" },
    describe: { label: "Requires" },
  }),
  processField({
    yaml: "wants",
    key: "wants",
    schema: optional(leaf.dependencySchema),
    default: [],
    hot: true,
    proto: "wants",
    codec: codecs.strings,
    flag: { names: ["--wants"], help: "Soft dependencies (repeatable)" },
    describe: { label: "Wants" },
  }),
  processField({
    yaml: "binds_to",
    key: "bindsTo",
    schema: optional(leaf.dependencySchema),
    default: [],
    hot: true,
    proto: "binds_to",
    codec: codecs.strings,
    flag: { names: ["--binds-to"], help: "Stop when these stop (repeatable)" },
    describe: { label: "Binds to" },
  }),
  processField({
    yaml: "conflicts",
    key: "conflicts",
    schema: optional(leaf.dependencySchema),
    default: [],
    hot: true,
    proto: "conflicts",
    codec: codecs.strings,
    flag: { names: ["--conflicts"], help: "Never run together with these (repeatable)" },
    describe: { label: "Conflicts" },
  }),
  processField({
    yaml: "process_type",
    key: "processType",
    schema: optional(leaf.picklistSchema(spellingsOf(processTypes))),
    default: "simple",
    proto: "process_type",
    codec: codecs.enumeration<ProcessType>(processTypes),
    describe: { label: "Process type" },
  }),
  processField({
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
  processField({
    yaml: "resource_limits",
    key: "resourceLimits",
    schema: optional(ResourceLimitsSchema),
    hot: true,
    proto: "resource_limits",
    codec: message<ResourceLimits>(resourceLimitFieldTable, []),
    fields: resourceLimitFieldTable,
  }),
] as const;

/** One process of processes.yaml, as written (snake_case); the output holds normalised values. */
export const ProcessSchema = v.object(entriesOf(processFieldTable));
export type ProcessInput = v.InferInput<typeof ProcessSchema>;
export type ProcessOutput = v.InferOutput<typeof ProcessSchema>;

/** A field of processes.yaml (and of ProcessSpec, which also has `name`). */
export type ProcessFieldName = (typeof processFieldTable)[number]["yaml"];

/** The snake_case field names, per object kind (for unknown-key checks and did-you-mean). */
export const processFields: readonly ProcessFieldName[] = processFieldTable.map((row) => row.yaml);
export const healthCheckFields: readonly string[] = healthCheckFieldTable.map((row) => row.yaml);
export const resourceLimitFields: readonly string[] = resourceLimitFieldTable.map((r) => r.yaml);

/** The ProcessConfig keys that always have a value, each a row with a default (not `name`...). */
type DefaultedKey = Exclude<
  {
    [K in keyof ProcessConfig]-?: undefined extends ProcessConfig[K] ? never : K;
  }[keyof ProcessConfig],
  "name" | "command" | "argv"
>;

/** The default of every field that has one (the table's `default` column). */
export const processDefaults = Object.fromEntries(
  processFieldTable.flatMap((row) => ("default" in row ? [[row.key, row.default] as const] : [])),
) as { readonly [K in DefaultedKey]: ProcessConfig[K] };
