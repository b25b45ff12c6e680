import { formatBytes, shellQuote } from "@procmgr/platform";
import { type SpellingTable, spellingOf } from "./process-enums.js";
import type { EnvironmentFile, OutputTarget, PathCondition, SocketConfig } from "./types.js";

/**
 * How the CLI reads the values of a field's flag (see apps/cli/src/spec-build.ts): the last one
 * given (string, bool, duration, int, enum), every one split at commas (list, int-list), every
 * one as one item (words: arguments, which may hold commas), KEY=VALUE pairs (env).
 */
export type FlagKind =
  | "string"
  | "bool"
  | "duration"
  | "int"
  | "enum"
  | "list"
  | "int-list"
  | "words"
  | "env";

/**
 * How one field's value is written in each shape around ProcessConfig, where its type is C.
 * ProcessSpec values are protobuf-es values (enums as numbers); one is "unset" when it is the
 * proto's zero ("", [], {}, false, enum 0) or an absent optional field or message: `fromProto`
 * then answers undefined, and the schema's default applies.
 *
 * Methods (not function properties), so that a table of rows of different C is one array type.
 */
export interface FieldCodec<C> {
  /** ProcessConfig → processes.yaml (`processConfigToRaw`: persisted API processes). */
  toYaml(value: C): unknown;
  /** ProcessConfig → ProcessSpec (Describe, and the CLI's flags after the schema). */
  toProto(value: C): unknown;
  /** ProcessSpec → processes.yaml, validated by the schema afterwards; undefined = unset. */
  fromProto(value: unknown): unknown;
  /** ProcessSpec → `describe -o json`; undefined = left out. */
  toJson(value: unknown): unknown;
  /** ProcessSpec → `describe` text; undefined or "" = not shown. */
  show(value: unknown): string | undefined;
  /** How a CLI flag of this field is read (only fields with a flag need it). */
  readonly flagKind?: FlagKind;
  /** An enumeration's spellings with their proto values. */
  readonly spellings?: SpellingTable;
}

function same<T>(value: T): T {
  return value;
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function optionalNumber(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}

function nonEmptyList(value: unknown): unknown[] | undefined {
  return Array.isArray(value) && value.length > 0 ? [...value] : undefined;
}

function nonEmptyMap(value: unknown): Record<string, unknown> | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  return Object.keys(value).length > 0 ? { ...value } : undefined;
}

/** A proto string: "" is unset. `toYaml` defaults to the proto's spelling. */
function stringCodec<C>(
  toProto: (value: C) => string,
  toYaml: (value: C) => unknown = toProto,
): FieldCodec<C> {
  return {
    toYaml,
    toProto,
    fromProto: nonEmptyString,
    toJson: nonEmptyString,
    show: nonEmptyString,
    flagKind: "string",
  };
}

/** Text as written: command, description, user, paths, kill signal. */
export const text: FieldCodec<string> = stringCodec((value) => value);

/** `-/etc/default/app`: a leading "-" makes the file optional. */
export const environmentFile: FieldCodec<EnvironmentFile> = stringCodec(
  (file) => `${file.optional ? "-" : ""}${file.path}`,
);

/**
 * stdout/stderr: a path, "journal", "inherit" or "null" in the proto ("" = the daemon's
 * default); YAML null discards.
 */
export const outputTarget: FieldCodec<OutputTarget> = stringCodec(
  (target) => (target.kind === "default" ? "" : target.kind === "file" ? target.path : target.kind),
  (target) =>
    target.kind === "file"
      ? target.path
      : target.kind === "inherit" || target.kind === "journal"
        ? target.kind
        : null,
);

/** Seconds: a number, "infinity" in YAML (JSON has no Infinity); an optional double in the proto. */
export const seconds: FieldCodec<number> = {
  toYaml: (value) => (value === Number.POSITIVE_INFINITY ? "infinity" : value),
  toProto: same,
  fromProto: optionalNumber,
  toJson: optionalNumber,
  show: (value) => (typeof value === "number" ? `${value}s` : undefined),
  flagKind: "duration",
};

/** A whole number; an optional uint32 in the proto. */
export const count: FieldCodec<number> = {
  toYaml: same,
  toProto: same,
  fromProto: optionalNumber,
  toJson: optionalNumber,
  show: (value) => (typeof value === "number" ? String(value) : undefined),
  flagKind: "int",
};

/** A proto bool: false is unset. `-o json` always shows it. */
export const bool: FieldCodec<boolean> = {
  toYaml: same,
  toProto: same,
  fromProto: (value) => (value === true ? true : undefined),
  toJson: (value) => value === true,
  show: (value) => String(value === true),
  flagKind: "bool",
};

/** An enumeration of process-enums.ts: spellings in YAML and JSON, numbers in the proto. */
export function enumeration<C extends string>(spellings: SpellingTable): FieldCodec<C> {
  // A value this side does not know (a newer peer) is shown as its number.
  const name = (value: unknown) =>
    typeof value === "number" && value !== 0
      ? (spellingOf(spellings, value) ?? String(value))
      : undefined;
  return {
    toYaml: same,
    toProto: (value) => spellings[value],
    fromProto: (value) => (typeof value === "number" ? spellingOf(spellings, value) : undefined),
    toJson: name,
    show: name,
    flagKind: "enum",
    spellings,
  };
}

/** A repeated proto field: [] is unset; shown comma-separated. */
function listCodec<T>(
  toYaml: (value: readonly T[]) => unknown,
  toProto: (value: readonly T[]) => unknown,
  flagKind?: FlagKind,
): FieldCodec<readonly T[]> {
  return {
    toYaml,
    toProto,
    fromProto: nonEmptyList,
    toJson: nonEmptyList,
    show: (value) => nonEmptyList(value)?.map(String).join(", "),
    ...(flagKind === undefined ? {} : { flagKind }),
  };
}

/** Names and words: args, runtime directories, capabilities, dependencies. */
export const strings: FieldCodec<readonly string[]> = listCodec(
  (value) => [...value],
  (value) => [...value],
  "list",
);

/** Exit codes (repeated int32). */
export const exitStatuses: FieldCodec<readonly number[]> = listCodec(
  (value) => [...value],
  (value) => [...value],
  "int-list",
);

/** exec_* hooks: argv lists in YAML, command lines (words quoted) in the proto. */
export const hooks: FieldCodec<readonly (readonly string[])[]> = listCodec(
  (value) => value.map((argv) => [...argv]),
  (value) => value.map((argv) => argv.map(shellQuote).join(" ")),
);

function conditionText(c: PathCondition): string {
  return `${c.anyOf ? "|" : ""}${c.negate ? "!" : ""}${c.path}`;
}

/** condition_path_exists: "|!/path" in YAML and the proto alike. */
export const conditions: FieldCodec<readonly PathCondition[]> = listCodec(
  (value) => value.map(conditionText),
  (value) => value.map(conditionText),
);

/** env: a map ({} is unset); shown one NAME=value per line. */
export const environment: FieldCodec<Readonly<Record<string, string>>> = {
  toYaml: (value) => ({ ...value }),
  toProto: (value) => ({ ...value }),
  fromProto: nonEmptyMap,
  toJson: nonEmptyMap,
  show: (value) => {
    const map = nonEmptyMap(value);
    return (
      map &&
      Object.entries(map)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join("\n")
    );
  },
  flagKind: "env",
};

/** A number the proto carries as a string (CPU cores: "0.5"). */
export const numberText: FieldCodec<number> = {
  flagKind: "string",
  toYaml: same,
  toProto: String,
  fromProto: nonEmptyString,
  toJson: nonEmptyString,
  show: nonEmptyString,
};

/** Memory in bytes, a string in the proto ("536870912", or with a suffix from other clients). */
export const bytes: FieldCodec<number> = {
  ...numberText,
  fromProto: (value) =>
    typeof value === "string" && /^\d+$/.test(value) ? Number(value) : nonEmptyString(value),
  show: (value) => {
    const s = nonEmptyString(value);
    return s !== undefined && /^\d+$/.test(s) ? `${s} (${formatBytes(Number(s))})` : s;
  },
};

/** A socket in processes.yaml's words: the bare address where that is all it says. */
function socketToYaml(s: SocketConfig): unknown {
  const { listen, type, ...rest } = s;
  if (type === "stream" && Object.keys(rest).length === 0) return listen;
  const mode = s.mode === undefined ? {} : { mode: `0${s.mode.toString(8)}` };
  return { listen, ...(type === "stream" ? {} : { type }), ...rest, ...mode };
}

/** The fields a SocketSpec message sets ("" and 0 are unset), as processes.yaml writes them. */
function socketFromProto(m: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ["listen", "name", "type", "backlog", "mode", "owner"]) {
    const value = (m as Record<string, unknown>)[key];
    if (value !== "" && value !== 0 && value !== undefined) out[key] = value;
  }
  return out;
}

/** sockets: addresses or objects in YAML (socketsSchema), SocketSpec messages in the proto. */
export const sockets: FieldCodec<readonly SocketConfig[]> = {
  toYaml: (value) => value.map(socketToYaml),
  toProto: (value) =>
    value.map((s) => ({
      listen: s.listen,
      name: s.name ?? "",
      type: s.type,
      backlog: s.backlog ?? 0,
      mode: s.mode === undefined ? "" : `0${s.mode.toString(8)}`,
      owner: s.owner ?? "",
    })),
  fromProto: (value) => nonEmptyList(value)?.map(socketFromProto),
  toJson: (value) => nonEmptyList(value)?.map(socketFromProto),
  show: (value) =>
    nonEmptyList(value)
      ?.map((m) => {
        const s = socketFromProto(m);
        const name = s.name === undefined ? "" : `${String(s.name)}=`;
        return `${name}${String(s.listen)}${s.type === "datagram" ? " (datagram)" : ""}`;
      })
      .join(", "),
  flagKind: "words",
};
