import { statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { parseDurationSeconds } from "@procmgr/platform";
import type { ProcessSpecSchema } from "@procmgr/rpc";
import { UsageError } from "clipanion";
import { killModeFrom, restartPolicyFrom } from "./format/process.js";
import type { SpecFlag } from "./spec-flags.js";

export type ProcessSpecInit = MessageInitShape<typeof ProcessSpecSchema>;

export interface BuiltSpec {
  spec: ProcessSpecInit;
  /** snake_case fields set by flags, in flag-table order. */
  fields: string[];
}

const camel = (field: string) => field.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

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

/**
 * Turns parsed config flags into a ProcessSpec init and the list of fields given. Values are
 * checked here (numbers, enums, KEY=VALUE); the daemon validates the whole spec again.
 */
export function buildSpec(
  flags: ReadonlyMap<SpecFlag, readonly string[]>,
  options: { baseEnv?: Readonly<Record<string, string>> } = {},
): BuiltSpec {
  const spec: Record<string, unknown> = {};
  const fields: string[] = [];
  for (const [flag, values] of flags) {
    const name = flag.names[0] ?? flag.field;
    const value = last(values);
    const key = camel(flag.field);
    switch (flag.kind) {
      case "string":
        spec[key] = value;
        break;
      case "bool":
        spec[key] = value === "true";
        break;
      case "duration": {
        const seconds = parseDurationSeconds(value);
        if (seconds === undefined || seconds < 0) {
          throw new UsageError(
            `${name} expects a duration (seconds, or like 500ms, 1m30s); received ${JSON.stringify(value)}`,
          );
        }
        spec[key] = seconds;
        break;
      }
      case "int": {
        if (!/^\d+$/.test(value.trim())) {
          throw new UsageError(`${name} expects a whole number; received ${JSON.stringify(value)}`);
        }
        spec[key] = Number(value);
        break;
      }
      case "enum": {
        const v = flag.field === "restart" ? restartPolicyFrom(value) : killModeFrom(value);
        if (v === undefined) {
          throw new UsageError(
            `${name} expects one of ${(flag.values ?? []).join(", ")}; received ${JSON.stringify(value)}`,
          );
        }
        spec[key] = v;
        break;
      }
      case "list":
        spec[key] = splitList(values);
        break;
      case "int-list": {
        const items = splitList(values);
        for (const item of items) {
          if (!/^-?\d+$/.test(item)) {
            throw new UsageError(`${name} expects exit codes; received ${JSON.stringify(item)}`);
          }
        }
        spec[key] = items.map(Number);
        break;
      }
      case "env":
        spec[key] = { ...(options.baseEnv ?? {}), ...parseEnvPairs(values, name) };
        break;
    }
    fields.push(flag.field);
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
