import { type FieldRow, processFieldTable, spellingsOf } from "@procmgr/config";
import { registerSpecFlags, type SpecFlag } from "./proxy-args.js";

export type {
  ExtraFlag,
  ParsedProxyArgs,
  ProxyParseOptions,
  SpecFlag,
  SpecFlagKind,
} from "./proxy-args.js";
export { baseExtraFlags, parseProxyArgs, specFlagsHelp } from "./proxy-args.js";

/** The flag of one row, for the field at `path` ("restart_sec", "health_check.interval"). */
function rowFlag(row: FieldRow, path: string): SpecFlag[] {
  const { flag, codec } = row;
  if (flag === undefined) return [];
  const kind = flag.kind ?? codec.flagKind;
  if (kind === undefined) throw new Error(`the flag of ${path} has no flag kind`);
  const specFlag: SpecFlag = {
    names: flag.names,
    field: path,
    kind,
    ...(codec.spellings === undefined ? {} : { values: spellingsOf(codec.spellings) }),
    ...(flag.aliases === undefined ? {} : { aliases: flag.aliases }),
    description: flag.help,
    ...(flag.updateOnly === true ? { updateOnly: true } : {}),
  };
  return [specFlag];
}

/**
 * The flags of `create` and `update`: one per processes.yaml field that has a flag in the field
 * table of @procmgr/config (names, help, how its value is read), then those of the fields of
 * its nested messages (health_check: `--health-type`, `--health-endpoint`...), whose field is
 * their path ("health_check.endpoint"). Loaded when a verb needs them (./proxy-args.ts
 * loadSpecFlags), with the table.
 */
export const specFlags: readonly SpecFlag[] = processFieldTable.flatMap((row: FieldRow) => [
  ...rowFlag(row, row.yaml),
  ...(row.fields ?? []).flatMap((sub) => rowFlag(sub, `${row.yaml}.${sub.yaml}`)),
]);

// proxy-args.ts reads them from here on (usage texts, update's --restart).
registerSpecFlags(specFlags);
