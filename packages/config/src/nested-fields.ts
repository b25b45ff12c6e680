import * as v from "valibot";
import { bytes, count, enumeration, numberText, seconds, strings, text } from "./field-codecs.js";
import { entriesOf, optional, rowsOf } from "./field-row.js";
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
import type { HealthCheck, HealthCheckType, ResourceLimits } from "./types.js";

/*
 * The fields of the two nested messages of a process, health_check and resource_limits: one row
 * each, like process-fields.ts (see there for the columns). Their YAML names are shorter than
 * the proto's where the proto spells the unit (interval → interval_sec).
 */

const healthCheckField = rowsOf<HealthCheck>();

export const healthCheckFieldTable = [
  healthCheckField({
    yaml: "type",
    key: "type",
    schema: picklistSchema(spellingsOf(healthCheckTypes)),
    proto: "type",
    codec: enumeration<HealthCheckType>(healthCheckTypes),
  }),
  healthCheckField({
    yaml: "interval",
    key: "intervalSec",
    schema: optional(durationSchema),
    default: 30,
    proto: "interval_sec",
    codec: seconds,
  }),
  healthCheckField({
    yaml: "timeout",
    key: "timeoutSec",
    schema: optional(durationSchema),
    default: 5,
    proto: "timeout_sec",
    codec: seconds,
  }),
  healthCheckField({
    yaml: "retries",
    key: "retries",
    schema: optional(integerSchema(1)),
    default: 3,
    proto: "retries",
    codec: count,
  }),
  healthCheckField({
    yaml: "start_period",
    key: "startPeriodSec",
    schema: optional(durationSchema),
    default: 0,
    proto: "start_period_sec",
    codec: seconds,
  }),
  healthCheckField({
    yaml: "restart_after",
    key: "restartAfter",
    schema: optional(integerSchema(0)),
    default: 0,
    proto: "restart_after",
    codec: count,
  }),
  healthCheckField({
    yaml: "endpoint",
    key: "endpoint",
    schema: optional(descriptionSchema),
    proto: "endpoint",
    codec: text,
  }),
  healthCheckField({
    yaml: "method",
    key: "method",
    schema: optional(httpMethodSchema),
    default: "GET",
    proto: "method",
    codec: text,
  }),
  healthCheckField({
    yaml: "expected_status",
    key: "expectedStatus",
    schema: optional(integerSchema(100, 599)),
    default: 200,
    proto: "expected_status",
    codec: count,
  }),
  healthCheckField({
    yaml: "host",
    key: "host",
    schema: optional(stringishSchema("a host name or address")),
    proto: "host",
    codec: text,
  }),
  healthCheckField({
    yaml: "port",
    key: "port",
    schema: optional(portSchema),
    proto: "port",
    codec: count,
  }),
  healthCheckField({
    yaml: "command",
    key: "command",
    schema: optional(commandSchema),
    proto: "command",
    codec: text,
  }),
  healthCheckField({
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

const resourceLimitField = rowsOf<ResourceLimits>();

export const resourceLimitFieldTable = [
  resourceLimitField({
    yaml: "cpu",
    key: "cpu",
    schema: optional(cpuSchema),
    proto: "cpu",
    codec: numberText,
    describe: { label: "CPU" },
  }),
  resourceLimitField({
    yaml: "memory",
    key: "memoryBytes",
    schema: optional(memorySchema),
    proto: "memory",
    codec: bytes,
    describe: { label: "Memory" },
  }),
  resourceLimitField({
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
