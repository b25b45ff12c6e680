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
 * the proto's where the proto spells the unit (interval → interval_sec).
 */

export const healthCheckFieldTable = [
  field({
    yaml: "type",
    key: "type",
    schema: picklistSchema(spellingsOf(healthCheckTypes)),
    required: true,
    proto: "type",
    codec: enumeration<HealthCheckType>(healthCheckTypes),
  }),
  field({
    yaml: "interval",
    key: "intervalSec",
    schema: optional(durationSchema),
    default: 30,
    proto: "interval_sec",
    codec: seconds,
  }),
  field({
    yaml: "timeout",
    key: "timeoutSec",
    schema: optional(durationSchema),
    default: 5,
    proto: "timeout_sec",
    codec: seconds,
  }),
  field({
    yaml: "retries",
    key: "retries",
    schema: optional(integerSchema(1)),
    default: 3,
    proto: "retries",
    codec: count,
  }),
  field({
    yaml: "start_period",
    key: "startPeriodSec",
    schema: optional(durationSchema),
    default: 0,
    proto: "start_period_sec",
    codec: seconds,
  }),
  // Restart the process after this many failures in a row; 0 = never.
  field({
    yaml: "restart_after",
    key: "restartAfter",
    schema: optional(integerSchema(0)),
    default: 0,
    proto: "restart_after",
    codec: count,
  }),
  field({
    yaml: "endpoint",
    key: "endpoint",
    schema: optional(descriptionSchema),
    proto: "endpoint",
    codec: text,
  }),
  field({
    yaml: "method",
    key: "method",
    schema: optional(httpMethodSchema),
    default: "GET",
    proto: "method",
    codec: text,
  }),
  field({
    yaml: "expected_status",
    key: "expectedStatus",
    schema: optional(integerSchema(100, 599)),
    default: 200,
    proto: "expected_status",
    codec: count,
  }),
  field({
    yaml: "host",
    key: "host",
    schema: optional(stringishSchema("a host name or address")),
    proto: "host",
    codec: text,
  }),
  field({
    yaml: "port",
    key: "port",
    schema: optional(portSchema),
    proto: "port",
    codec: count,
  }),
  field({
    yaml: "command",
    key: "command",
    schema: optional(commandSchema),
    proto: "command",
    codec: text,
  }),
  field({
    yaml: "args",
    key: "args",
    schema: optional(argsSchema),
    default: [],
    proto: "args",
    codec: strings,
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
    describe: { label: "CPU" },
  }),
  // Bytes ("64M" in YAML).
  field({
    yaml: "memory",
    key: "memoryBytes",
    schema: optional(memorySchema),
    proto: "memory",
    codec: bytes,
    describe: { label: "Memory" },
  }),
  field({
    yaml: "pids",
    key: "pids",
    schema: optional(integerSchema(1)),
    proto: "pids",
    codec: count,
    describe: { label: "PIDs" },
  }),
] as const;

export const ResourceLimitsSchema = v.object(entriesOf(resourceLimitFieldTable));
export type ResourceLimitsOutput = v.InferOutput<typeof ResourceLimitsSchema>;
