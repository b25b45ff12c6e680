import * as v from "valibot";
import { bytes, count, enumeration, numberText, seconds, strings, text } from "./field-codecs.js";
import { entriesOf, field, optional } from "./field-row.js";
import { healthCheckTypes, spellingsOf } from "./process-enums.js";
import {
  argsSchema,
  commandSchema,
  cpuSchema,
  descriptionSchema,
  durationSchema,
  httpMethodSchema,
  integerSchema,
  memorySchema,
  picklistSchema,
  portSchema,
  stringishSchema,
} from "./process-schema.js";
import type { HealthCheckType } from "./types.js";

/*
 * The fields of the two nested messages of a process, health_check and resource_limits: one row
 * each, like process-fields.ts (see there for the columns). Their YAML names are shorter than
 * the proto's where the proto spells the unit (interval → interval_sec). A row's flag sets that
 * one field of the message: `create` makes the message of its flags, `update` sets those fields
 * on the current one (an Update's field "health_check.interval").
 */

export const healthCheckFieldTable = [
  field({
    yaml: "type",
    key: "type",
    schema: picklistSchema(spellingsOf(healthCheckTypes)),
    required: true,
    proto: "type",
    codec: enumeration<HealthCheckType>(healthCheckTypes),
    flag: {
      names: ["--health-type"],
      help: `Health check: ${spellingsOf(healthCheckTypes).join(", ")} (the other --health-* options need it on create)`,
    },
  }),
  field({
    yaml: "interval",
    key: "intervalSec",
    schema: optional(durationSchema),
    default: 30,
    proto: "interval_sec",
    codec: seconds,
    flag: { names: ["--health-interval"], help: "Health check: time between checks (default 30s)" },
  }),
  field({
    yaml: "timeout",
    key: "timeoutSec",
    schema: optional(durationSchema),
    default: 5,
    proto: "timeout_sec",
    codec: seconds,
    flag: {
      names: ["--health-timeout"],
      help: "Health check: how long one check may take (default 5s; 0 = no limit)",
    },
  }),
  field({
    yaml: "retries",
    key: "retries",
    schema: optional(integerSchema(1)),
    default: 3,
    proto: "retries",
    codec: count,
    flag: {
      names: ["--health-retries"],
      help: "Health check: failures in a row that make the process unhealthy (default 3)",
    },
  }),
  field({
    yaml: "start_period",
    key: "startPeriodSec",
    schema: optional(durationSchema),
    default: 0,
    proto: "start_period_sec",
    codec: seconds,
    flag: {
      names: ["--health-start-period"],
      help: "Health check: failures after a start are not counted this long (default 0)",
    },
  }),
  // Restart the process after this many failures in a row; 0 = never.
  field({
    yaml: "restart_after",
    key: "restartAfter",
    schema: optional(integerSchema(0)),
    default: 0,
    proto: "restart_after",
    codec: count,
    flag: {
      names: ["--health-restart-after"],
      help: "Health check: restart the process after this many failures in a row (default 0: never)",
    },
  }),
  field({
    yaml: "endpoint",
    key: "endpoint",
    schema: optional(descriptionSchema),
    proto: "endpoint",
    codec: text,
    flag: {
      names: ["--health-endpoint"],
      help: 'Health check (http): a URL ("http://127.0.0.1:8000/health"), or a path with --health-port',
    },
  }),
  field({
    yaml: "method",
    key: "method",
    schema: optional(httpMethodSchema),
    default: "GET",
    proto: "method",
    codec: text,
    flag: {
      names: ["--health-method"],
      help: "Health check (http): the request's method (default GET)",
    },
  }),
  field({
    yaml: "expected_status",
    key: "expectedStatus",
    schema: optional(integerSchema(100, 599)),
    default: 200,
    proto: "expected_status",
    codec: count,
    flag: {
      names: ["--health-expected-status"],
      help: "Health check (http): the status that passes (default 200)",
    },
  }),
  field({
    yaml: "host",
    key: "host",
    schema: optional(stringishSchema("a host name or address")),
    proto: "host",
    codec: text,
    flag: {
      names: ["--health-host"],
      help: "Health check (tcp, http with a path): the host (default 127.0.0.1)",
    },
  }),
  field({
    yaml: "port",
    key: "port",
    schema: optional(portSchema),
    proto: "port",
    codec: count,
    flag: { names: ["--health-port"], help: "Health check (tcp, http with a path): the port" },
  }),
  field({
    yaml: "command",
    key: "command",
    schema: optional(commandSchema),
    proto: "command",
    codec: text,
    flag: {
      names: ["--health-command"],
      help: 'Health check (exec): a command line, run as the process\'s user ("curl -fs localhost:8000")',
    },
  }),
  field({
    yaml: "args",
    key: "args",
    schema: optional(argsSchema),
    default: [],
    proto: "args",
    codec: strings,
    flag: {
      names: ["--health-arg"],
      help: "Health check (exec): one more argument of the command, as is (repeatable)",
      kind: "words",
    },
  }),
] as const;

export const HealthCheckSchema = v.object(entriesOf(healthCheckFieldTable));
export type HealthCheckOutput = v.InferOutput<typeof HealthCheckSchema>;

export const resourceLimitFieldTable = [
  // Cores: "500m" = 0.5, "1.5" = 1.5.
  field({
    yaml: "cpu",
    key: "cpu",
    schema: optional(cpuSchema),
    proto: "cpu",
    codec: numberText,
    flag: {
      names: ["--cpu"],
      help: 'CPU limit in cores (cgroup cpu.max): "1.5", "500m"; an empty value removes it',
    },
    describe: { label: "CPU" },
  }),
  // Bytes ("64M" in YAML).
  field({
    yaml: "memory",
    key: "memoryBytes",
    schema: optional(memorySchema),
    proto: "memory",
    codec: bytes,
    flag: {
      names: ["--memory"],
      help: 'Memory limit (cgroup memory.max): bytes or "512M", "1G"; an empty value removes it',
    },
    describe: { label: "Memory" },
  }),
  field({
    yaml: "pids",
    key: "pids",
    schema: optional(integerSchema(1)),
    proto: "pids",
    codec: count,
    flag: {
      names: ["--pids"],
      help: "Limit of processes and threads (cgroup pids.max); an empty value removes it",
    },
    describe: { label: "PIDs" },
  }),
] as const;

export const ResourceLimitsSchema = v.object(entriesOf(resourceLimitFieldTable));
export type ResourceLimitsOutput = v.InferOutput<typeof ResourceLimitsSchema>;
