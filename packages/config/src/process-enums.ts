/**
 * The enumerations of a process definition, one place each: every spelling (as processes.yaml,
 * the CLI and `-o json` write it) with the value of the matching enum of
 * packages/rpc/proto/procmgr/v1/process_manager.proto (whose 0 is UNSPECIFIED). The schema, the
 * types and every mapping to and from the proto use these; a test in the CLI holds them equal to
 * the generated enums.
 */
export const restartPolicies = { never: 1, always: 2, "on-failure": 3, "on-success": 4 } as const;
export const killModes = { "control-group": 1, "process-group": 2, process: 3, mixed: 4 } as const;
export const processTypes = { simple: 1, forking: 2, oneshot: 3, notify: 4 } as const;
export const healthCheckTypes = { http: 1, tcp: 2, exec: 3 } as const;

/** Spelling → proto enum value. */
export type SpellingTable = Readonly<Record<string, number>>;

/** The spellings of an enumeration, in proto order. */
export function spellingsOf<T extends SpellingTable>(table: T): (keyof T & string)[] {
  return Object.keys(table) as (keyof T & string)[];
}

/** The spelling of a proto enum value; undefined for 0 (UNSPECIFIED) and unknown values. */
export function spellingOf(table: SpellingTable, value: number): string | undefined {
  for (const [spelling, n] of Object.entries(table)) if (n === value) return spelling;
  return undefined;
}
