import * as v from "valibot";
import type { RawProcess } from "./config-to-raw.js";
import { ConfigError } from "./errors.js";
import {
  type FieldRow,
  protoLocalName,
  rowsFromProto,
  rowsToJson,
  rowsToProto,
  rowText,
} from "./field-row.js";
import { type ProcessFieldName, processFields, processFieldTable } from "./process-fields.js";
import { describeValue } from "./process-schema.js";
import type { ProcessConfig } from "./types.js";

/*
 * The ProcessSpec side of the field table: a resolved config as a ProcessSpec (Describe), a
 * ProcessSpec as processes.yaml (Create and Update, validated by the file's own schema), and a
 * ProcessSpec as the CLI shows it (`-o json`, describe). ProcessSpec values are read and written
 * by protobuf-es local name (ProcessSpecSchema), without depending on the generated code: the
 * daemon wraps the init in `create(ProcessSpecSchema, ...)`.
 */

/** Every ProcessSpec field but `name`, by its processes.yaml name (Update's `fields`). */
export const specFields: readonly ProcessFieldName[] = processFields;

export function isSpecField(field: string): field is ProcessFieldName {
  return (specFields as readonly string[]).includes(field);
}

/**
 * A field of a nested message, by its path: "health_check.interval" is the `interval` row of
 * the `health_check` row's fields. Undefined for anything else.
 */
function nestedRow(path: string): { parent: FieldRow; row: FieldRow } | undefined {
  const dot = path.indexOf(".");
  if (dot < 0) return undefined;
  const parent = processFieldTable.find((r) => r.yaml === path.slice(0, dot));
  const row = parent?.fields?.find((r) => r.yaml === path.slice(dot + 1));
  return parent === undefined || row === undefined ? undefined : { parent, row };
}

/**
 * A field an Update may list: a processes.yaml field, or a field of a nested message by its path
 * ("health_check.interval": that one field is set on the current message).
 */
export function isSpecFieldPath(field: string): boolean {
  return isSpecField(field) || nestedRow(field) !== undefined;
}

/** The nested message of a field path ("health_check" of "health_check.port"), if any. */
export function parentFieldRow(path: string): FieldRow | undefined {
  return nestedRow(path)?.parent;
}

/**
 * The row of a processes.yaml field, or of a field of a nested message by its path
 * ("health_check.interval"); throws on an unknown name.
 */
export function processFieldRow(field: string): FieldRow {
  const row = processFieldTable.find((r) => r.yaml === field) ?? nestedRow(field)?.row;
  if (row === undefined) throw new Error(`unknown process field "${field}"`);
  return row;
}

/**
 * A resolved config as a ProcessSpec init (protobuf-es local names, enums as numbers), every
 * field set (defaults filled in).
 */
export function processConfigToSpec(config: ProcessConfig): Record<string, unknown> {
  return { name: config.name, ...rowsToProto(processFieldTable, config) };
}

/**
 * A ProcessSpec in the YAML shape of one `processes.<name>` entry, unset fields omitted, so that
 * the API is validated by the very schema of the config file. `name` is not part of it.
 */
export function specToRaw(spec: object): RawProcess {
  return rowsFromProto(processFieldTable, spec);
}

/** A ProcessSpec as processes.yaml would spell it (snake_case, only set fields): `-o json`. */
export function specToJson(spec: object): Record<string, unknown> {
  return rowsToJson(processFieldTable, spec);
}

/** A ProcessSpec field as `describe` shows it. */
export interface DescribedField {
  /** "restart_sec", or "resource_limits.cpu" for a field of a nested message. */
  readonly path: string;
  readonly label: string;
  /** The text shown; undefined or "" = not shown. */
  text(spec: object): string | undefined;
}

function described(row: FieldRow, parent?: FieldRow): DescribedField[] {
  const own: DescribedField[] =
    row.describe === undefined
      ? []
      : [
          {
            path: parent === undefined ? row.yaml : `${parent.yaml}.${row.yaml}`,
            label: row.describe.label,
            text: (spec) => {
              if (parent === undefined) return rowText(row, spec);
              const sub = (spec as Record<string, unknown>)[protoLocalName(parent.proto)];
              return typeof sub === "object" && sub !== null ? rowText(row, sub) : undefined;
            },
          },
        ];
  const nested = parent === undefined ? (row.fields ?? []).flatMap((f) => described(f, row)) : [];
  return [...own, ...nested];
}

/** Every field `describe` shows, in table order (the CLI's layout places each once). */
export const describedFields: readonly DescribedField[] = processFieldTable.flatMap((row) =>
  described(row),
);

/**
 * One field's value read by the field's schema, as processes.yaml is read (the CLI's flags go
 * through this, so they take every form the file takes); `field` may be the path of a field of
 * a nested message ("health_check.interval"). Answers the ProcessConfig value;
 * throws a ConfigError whose issue names the field, what was expected and what was received.
 */
export function parseFieldValue(field: string, value: unknown): unknown {
  const result = v.safeParse(processFieldRow(field).schema, value, { abortEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  throw ConfigError.fromIssues([
    {
      path: field,
      message: issue.message,
      ...(issue.expected !== null ? { expected: issue.expected } : {}),
      received: issue.kind === "schema" ? describeValue(value) : issue.received,
      code: "invalid",
    },
  ]);
}
