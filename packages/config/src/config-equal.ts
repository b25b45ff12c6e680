import { isDeepStrictEqual } from "node:util";
import { processFieldTable } from "./process-fields.js";
import type { ProcessConfig } from "./types.js";

/**
 * ProcessConfig key → the snake_case field of processes.yaml it comes from, in processes.yaml
 * order: the table's rows, plus `name` and `argv` (which comes from the command and its args).
 */
type FieldName = readonly [key: keyof ProcessConfig, field: string];

const fieldNames: readonly FieldName[] = [
  ["name", "name"],
  ...processFieldTable.flatMap((row): FieldName[] => {
    // Every row's key is a key of ProcessConfig: the type is inferred from the table.
    const key = row.key as keyof ProcessConfig;
    return key === "args"
      ? [
          [key, row.yaml],
          ["argv", "command"],
        ]
      : [[key, row.yaml]];
  }),
];

/**
 * The snake_case fields whose change is applied to a running process without restarting it
 * (the rows marked `hot`). Every other field (command, args, env, user, working_dir, ...) needs
 * a restart.
 */
export const hotFields: ReadonlySet<string> = new Set(
  processFieldTable.filter((row) => row.hot === true).map((row) => row.yaml),
);

/** The snake_case names of the fields that differ (each once, in processes.yaml order). */
export function changedFields(a: ProcessConfig, b: ProcessConfig): string[] {
  const out: string[] = [];
  for (const [key, field] of fieldNames) {
    if (!isDeepStrictEqual(a[key], b[key]) && !out.includes(field)) out.push(field);
  }
  return out;
}

/** Same definition (every field, name included). */
export function configsEqual(a: ProcessConfig, b: ProcessConfig): boolean {
  return changedFields(a, b).length === 0;
}
