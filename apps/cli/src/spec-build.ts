import { statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  ConfigError,
  type FieldCodec,
  parentFieldRow,
  parseFieldValue,
  processFieldRow,
  protoLocalName,
} from "@procmgr/config";
import type { ProcessSpecSchema } from "@procmgr/rpc";
import { UsageError } from "clipanion";
import type { SpecFlag } from "./proxy-args.js";

export type ProcessSpecInit = MessageInitShape<typeof ProcessSpecSchema>;

export interface BuiltSpec {
  spec: ProcessSpecInit;
  /** snake_case fields set by flags, in the order given. */
  fields: string[];
}

function last(values: readonly string[]): string {
  return values[values.length - 1] ?? "";
}

function splitList(values: readonly string[]): string[] {
  return values
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "");
}

/** KEY=VALUE pairs into a map; the value may contain "=". */
export function parseEnvPairs(values: readonly string[], flag = "--env"): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of values) {
    const eq = pair.indexOf("=");
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new UsageError(
        `${flag} expects KEY=VALUE with a valid variable name; received ${JSON.stringify(pair)}`,
      );
    }
    env[key] = pair.slice(eq + 1);
  }
  return env;
}

/** An enumeration as typed on a command line: any case, "_" for "-", the flag's aliases. */
function enumWord(flag: SpecFlag, value: string): string {
  const word = value.trim().toLowerCase().replaceAll("_", "-");
  return flag.aliases?.[word] ?? word;
}

/**
 * A flag's values as processes.yaml would hold them (a list split at commas, numbers as
 * numbers...): what the field's schema reads next.
 */
function flagToYaml(
  flag: SpecFlag,
  values: readonly string[],
  baseEnv: Readonly<Record<string, string>> | undefined,
): unknown {
  const name = flag.names[0] ?? flag.field;
  const value = last(values);
  switch (flag.kind) {
    case "string":
    case "duration":
      return value;
    case "bool":
      return value === "true";
    case "enum":
      return enumWord(flag, value);
    case "int":
      if (!/^\d+$/.test(value.trim())) {
        throw new UsageError(`${name} expects a whole number; received ${JSON.stringify(value)}`);
      }
      return Number(value);
    case "list":
      return splitList(values);
    case "words":
      return [...values];
    case "int-list":
      return splitList(values).map((item) => {
        if (!/^-?\d+$/.test(item)) {
          throw new UsageError(`${name} expects exit codes; received ${JSON.stringify(item)}`);
        }
        return Number(item);
      });
    case "env":
      return { ...(baseEnv ?? {}), ...parseEnvPairs(values, name) };
  }
}

/** A flag's values read by the field's own schema (as processes.yaml is), in the proto's form. */
function flagToProto(
  flag: SpecFlag,
  values: readonly string[],
  baseEnv: Readonly<Record<string, string>> | undefined,
): unknown {
  const codec: FieldCodec<unknown> = processFieldRow(flag.field).codec;
  // An empty text clears the field (the proto's unset value): `--user ""`.
  if (flag.kind === "string" && last(values) === "") return "";
  const yaml = flagToYaml(flag, values, baseEnv);
  let value: unknown;
  try {
    value = parseFieldValue(flag.field, yaml);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const issue = e.issues[0];
    const name = flag.names[0] ?? flag.field;
    const detail = issue?.message === undefined ? "" : ` (${issue.message})`;
    throw new UsageError(
      `${name} expects ${issue?.expected ?? "another value"}; received ${JSON.stringify(values.join(","))}${detail}`,
    );
  }
  return codec.toProto(value);
}

/**
 * Turns parsed config flags into a ProcessSpec init and the list of fields given. Each value goes
 * through the field's schema, as in processes.yaml (`--restart-sec '1.5 minutes'` as
 * `restart_sec: 1.5 minutes`);
 * the daemon validates the whole spec again. A field of a nested message (`--health-port 80`)
 * goes into that message (`healthCheck.port`), listed by its path (`health_check.port`): an
 * Update sets just it on the current message; Create takes the message the flags make.
 */
export function buildSpec(
  flags: ReadonlyMap<SpecFlag, readonly string[]>,
  options: { baseEnv?: Readonly<Record<string, string>> } = {},
): BuiltSpec {
  const spec: Record<string, unknown> = {};
  const fields: string[] = [];
  for (const [flag, values] of flags) {
    const row = processFieldRow(flag.field);
    const parent = parentFieldRow(flag.field);
    let target = spec;
    if (parent !== undefined) {
      const name = protoLocalName(parent.proto);
      target = (spec[name] ?? {}) as Record<string, unknown>;
      spec[name] = target;
    }
    target[protoLocalName(row.proto)] = flagToProto(flag, values, options.baseEnv);
    fields.push(flag.field);
    // A new command line replaces the arguments too.
    if (flag.field === "command") {
      spec.args = [];
      fields.push("args");
    }
  }
  return { spec: spec as ProcessSpecInit, fields };
}

/**
 * The first word of a command line that names an existing file by a relative path ("app.py",
 * "./run.sh", "bin/server"), if any: such a command only works from the caller's directory.
 */
export function relativeFileArgument(cwd: string, words: readonly string[]): string | undefined {
  for (const [i, word] of words.entries()) {
    // The command itself is looked up in PATH unless it has a slash.
    if (i === 0 && !word.includes("/")) continue;
    if (word === "" || word.startsWith("-") || isAbsolute(word) || word.includes("=")) continue;
    try {
      if (statSync(join(cwd, word)).isFile()) return word;
    } catch {
      // not a file here
    }
  }
  return undefined;
}
