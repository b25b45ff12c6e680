import { isDeepStrictEqual } from "node:util";
import * as v from "valibot";
import type { FieldCodec, FlagKind } from "./field-codecs.js";

/** A field's schema as an entry of its object: a leaf of process-schema.ts, or `optional(leaf)`. */
export type FieldSchema = v.GenericSchema;

/** A ProcessSpec (or one of its messages) as the mappings read it: values by local name. */
export type SpecValues = Readonly<Record<string, unknown>>;

/** The CLI flag of a field (create and update). */
export interface FieldFlag {
  /** Long names; the first is the one messages use: ["--working-dir", "--cwd"]. */
  readonly names: readonly string[];
  readonly help: string;
  /** Only `update` has it (`create` takes it as a positional). */
  readonly updateOnly?: boolean;
  /** More spellings the CLI accepts for an enumeration: { no: "never" }. */
  readonly aliases?: Readonly<Record<string, string>>;
  /** How its values are read, when not as the codec's `flagKind` says ("words": no comma split). */
  readonly kind?: FlagKind;
}

/** How `describe` shows a field. */
export interface FieldDescribe {
  readonly label: string;
  /**
   * The text, from the whole ProcessSpec (or the field's message, for a nested field). Without
   * it: the codec's `show` of the field's own value.
   */
  readonly show?: (spec: SpecValues) => string | undefined;
}

/**
 * One row of a field table: one field of a process (or of a nested message), in every shape.
 * V is the field's value in a resolved config; K, Y and S keep the key, the YAML name and the
 * schema literal, so that the schema and the config types are inferred from a table.
 */
export interface FieldRow<
  V = unknown,
  K extends string = string,
  Y extends string = string,
  S extends FieldSchema = FieldSchema,
> {
  /** The key in processes.yaml (snake_case). */
  readonly yaml: Y;
  /** The key in the resolved config (ProcessConfig, HealthCheck, ResourceLimits). */
  readonly key: K;
  /** Validates and normalises the YAML value (also the CLI's flag values and the API's). */
  readonly schema: S;
  /** The value when unset; none = the field is optional (or `required`). */
  readonly default?: V;
  /** The field has no default and must be given (`command`, a health check's `type`). */
  readonly required?: true;
  /** An update applies it to a running process; else it needs a restart. */
  readonly hot?: boolean;
  /** The field of the proto message (snake_case, as in process_manager.proto). */
  readonly proto: string;
  readonly codec: FieldCodec<NonNullable<V>>;
  readonly flag?: FieldFlag;
  readonly describe?: FieldDescribe;
  /** The rows of a nested message (health_check, resource_limits). */
  readonly fields?: readonly FieldRow[];
}

/** A value as a resolved config holds it: lists and objects read-only. */
export type Frozen<T> = T extends readonly (infer E)[]
  ? readonly Frozen<E>[]
  : T extends object
    ? { readonly [K in keyof T]: Frozen<T[K]> }
    : T;

/** The value a leaf schema gives a config: its output, without null and undefined. */
export type LeafValue<S extends FieldSchema> = Frozen<NonNullable<v.InferOutput<S>>>;

/** The value of a row in a config: its leaf's output, or the config of its nested rows. */
type RowValue<R> = R extends { readonly fields: infer F extends readonly FieldRow[] }
  ? ConfigOf<F>
  : R extends { readonly schema: infer S extends FieldSchema }
    ? LeafValue<S>
    : never;

/** A row whose key a config always holds: it has a default, or it is required. */
type AlwaysSet = { readonly default: unknown } | { readonly required: true };

type Flat<T> = { [K in keyof T]: T[K] } & {};

/**
 * The resolved config of a table of rows: each row's key with its value, optional unless the
 * row has a default or is required. ProcessConfig, HealthCheck and ResourceLimits are this.
 */
export type ConfigOf<Rows extends readonly FieldRow[]> = Flat<
  {
    readonly [R in Rows[number] as R extends AlwaysSet ? R["key"] : never]: RowValue<R>;
  } & {
    readonly [R in Rows[number] as R extends AlwaysSet ? never : R["key"]]?: RowValue<R>;
  }
>;

/**
 * A row of a leaf field, kept as written (literal key, YAML name, schema, whether it has a
 * default) for the inferred types; its default and codec are checked against the schema.
 */
export function field<const R extends { readonly schema: FieldSchema }>(
  row: R & FieldRow<LeafValue<R["schema"]>>,
): R {
  return row;
}

/** A row of a nested message: its value is the config of its own rows (`fields`). */
export function messageField<
  const R extends { readonly schema: FieldSchema; readonly fields: readonly FieldRow[] },
>(row: R & FieldRow<ConfigOf<R["fields"]>>): R {
  return row;
}

/** An optional field: absent or null = unset (its default applies). */
export function optional<S extends FieldSchema>(schema: S) {
  return v.optional(v.nullable(schema));
}

/** A table's schema entries, typed by row: `v.object(entriesOf(rows))`. */
export type EntriesOf<R extends readonly FieldRow[]> = {
  [E in R[number] as E["yaml"]]: E["schema"];
};

export function entriesOf<const R extends readonly FieldRow[]>(rows: R): EntriesOf<R> {
  return Object.fromEntries(rows.map((row) => [row.yaml, row.schema])) as EntriesOf<R>;
}

/** The protobuf-es local name of a proto field: "binds_to" → "bindsTo". */
export function protoLocalName(protoField: string): string {
  return protoField.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function valuesOf(value: object): Readonly<Record<string, unknown>> {
  return value as Readonly<Record<string, unknown>>;
}

/** A row's codec as the table-wide functions use it (any value). */
function codecOf(row: FieldRow): FieldCodec<unknown> {
  return row.codec;
}

/** The fields of a config object that differ from their defaults, in processes.yaml form. */
export function rowsToYaml(rows: readonly FieldRow[], config: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const row of rows) {
    const value = valuesOf(config)[row.key];
    if (value === undefined || isDeepStrictEqual(value, row.default)) continue;
    out[row.yaml] = codecOf(row).toYaml(value);
  }
  return out;
}

/** A config object as a protobuf-es message init (unset fields left out). */
export function rowsToProto(rows: readonly FieldRow[], config: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const row of rows) {
    const value = valuesOf(config)[row.key];
    if (value !== undefined) out[protoLocalName(row.proto)] = codecOf(row).toProto(value);
  }
  return out;
}

/** A message in processes.yaml form, unset fields left out. */
export function rowsFromProto(rows: readonly FieldRow[], spec: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const row of rows) {
    const value = row.codec.fromProto(valuesOf(spec)[protoLocalName(row.proto)]);
    if (value !== undefined) out[row.yaml] = value;
  }
  return out;
}

/** A message as `-o json` shows it (processes.yaml names), unset fields left out. */
export function rowsToJson(rows: readonly FieldRow[], spec: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const row of rows) {
    const value = row.codec.toJson(valuesOf(spec)[protoLocalName(row.proto)]);
    if (value !== undefined) out[row.yaml] = value;
  }
  return out;
}

/** The describe text of one row, from its message. */
export function rowText(row: FieldRow, spec: object): string | undefined {
  const values = valuesOf(spec);
  if (row.describe?.show !== undefined) return row.describe.show(values);
  return row.codec.show(values[protoLocalName(row.proto)]);
}

function isObject(value: unknown): value is object {
  return value !== null && typeof value === "object";
}

/**
 * A nested message mapped by its own rows. `required`: the YAML fields without which it means
 * nothing: given by the API, it is kept even when empty (the schema then says what is missing);
 * `-o json` leaves it out. Without required fields, an empty message is unset.
 */
export function message<C extends object>(
  rows: readonly FieldRow[],
  required: readonly string[],
): FieldCodec<C> {
  const toJson = (value: unknown) => {
    if (!isObject(value)) return undefined;
    const json = rowsToJson(rows, value);
    const complete = required.every((field) => json[field] !== undefined);
    return Object.keys(json).length === 0 || !complete ? undefined : json;
  };
  return {
    toYaml: (config) => rowsToYaml(rows, config),
    toProto: (config) => rowsToProto(rows, config),
    fromProto: (value) => {
      if (!isObject(value)) return undefined;
      const raw = rowsFromProto(rows, value);
      return Object.keys(raw).length === 0 && required.length === 0 ? undefined : raw;
    },
    toJson,
    show: (value) => {
      const json = toJson(value);
      return json === undefined ? undefined : JSON.stringify(json);
    },
  };
}
