import { rowsToYaml } from "./field-row.js";
import { processFieldTable } from "./process-fields.js";
import type { ProcessConfig } from "./types.js";

/** A process definition as written in YAML (snake_case keys). */
export type RawProcess = Record<string, unknown>;

/**
 * The YAML-shaped form of a resolved config, with only the fields that differ from the
 * defaults: `resolveProcessConfig(c.name, processConfigToRaw(c))` deep-equals `c`. Used to
 * persist API-created processes and to show a config as YAML. Each field is written by the
 * `toYaml` of its row (process-fields.ts).
 */
export function processConfigToRaw(config: ProcessConfig): RawProcess {
  return rowsToYaml(processFieldTable, config);
}
