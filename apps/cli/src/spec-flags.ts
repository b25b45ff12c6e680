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

/**
 * The flags of `create` and `update`: one per processes.yaml field that has a flag in the field
 * table of @procmgr/config (names, help, how its value is read). Loaded when a verb needs them
 * (./proxy-args.ts loadSpecFlags), with the table.
 */
export const specFlags: readonly SpecFlag[] = processFieldTable.flatMap((row: FieldRow) => {
  const { flag, codec } = row;
  if (flag === undefined) return [];
  const kind = codec.flagKind;
  if (kind === undefined) throw new Error(`the flag of ${row.yaml} has no flag kind`);
  const specFlag: SpecFlag = {
    names: flag.names,
    field: row.yaml,
    kind,
    ...(codec.spellings === undefined ? {} : { values: spellingsOf(codec.spellings) }),
    ...(flag.aliases === undefined ? {} : { aliases: flag.aliases }),
    description: flag.help,
    ...(flag.updateOnly === true ? { updateOnly: true } : {}),
  };
  return [specFlag];
});

// proxy-args.ts reads them from here on (usage texts, update's --restart).
registerSpecFlags(specFlags);
