import type { FlagKind } from "@procmgr/config";
import { UsageError } from "clipanion";
import { addressFlag } from "./commands/base.js";

/**
 * The option parser of `create` and `update`: they read their arguments through a clipanion
 * proxy and parse them here, so that known flags are recognised anywhere on the line while
 * everything else after COMMAND belongs to the command. The flags of the processes.yaml fields
 * come from the field table of @procmgr/config (./spec-flags.ts), loaded when a verb needs them:
 * not at start-up, which every other verb pays.
 */
export type SpecFlagKind = FlagKind;

export interface SpecFlag {
  /** Long names, "--user". */
  readonly names: readonly string[];
  /** The processes.yaml field (snake_case), or the path of a nested one ("health_check.port"). */
  readonly field: string;
  readonly kind: SpecFlagKind;
  /** An enumeration's spellings. */
  readonly values?: readonly string[];
  /** More spellings of an enumeration's values: { no: "never" }. */
  readonly aliases?: Readonly<Record<string, string>>;
  readonly description: string;
  /** Only `update` accepts it. */
  readonly updateOnly?: boolean;
}

let fieldFlags: readonly SpecFlag[] = [];

/** Called by ./spec-flags.ts when it is loaded. */
export function registerSpecFlags(flags: readonly SpecFlag[]): void {
  fieldFlags = flags;
}

/** The flags of the field table once loaded ([] before: usage texts read them). */
export function loadedSpecFlags(): readonly SpecFlag[] {
  return fieldFlags;
}

/** Loads the flags of the field table (@procmgr/config). */
export async function loadSpecFlags(): Promise<readonly SpecFlag[]> {
  await import("./spec-flags.js");
  return fieldFlags;
}

/** A flag that is not a config field (`--dry-run`, `--address`, `-o`...). */
export interface ExtraFlag {
  readonly names: readonly string[];
  readonly key: string;
  readonly arity: 0 | 1;
}

/** The shared flags of every verb, recognised by the proxy parser too. */
export const baseExtraFlags: readonly ExtraFlag[] = [
  { names: [addressFlag], key: "address", arity: 1 },
  { names: ["-o", "--output"], key: "output", arity: 1 },
  { names: ["--color"], key: "color", arity: 0 },
];

export interface ParsedProxyArgs {
  /** Values per config flag, in order given ("true"/"false" for booleans). */
  readonly spec: Map<SpecFlag, string[]>;
  /** Values of extra flags by key (booleans as "true"/"false"; last one wins). */
  readonly extra: Map<string, string>;
  readonly positionals: string[];
  readonly help: boolean;
}

export interface ProxyParseOptions {
  readonly specFlags: readonly SpecFlag[];
  readonly extraFlags: readonly ExtraFlag[];
  /**
   * Index of the positional after which unknown tokens belong to the command (create: 1, the
   * COMMAND). Undefined: unknown flags are always errors (update).
   */
  readonly commandIndex?: number;
}

type Known = { kind: "spec"; flag: SpecFlag } | { kind: "extra"; flag: ExtraFlag };

function lookup(name: string, options: ProxyParseOptions): Known | undefined {
  for (const flag of options.specFlags) {
    if (flag.names.includes(name)) return { kind: "spec", flag };
  }
  for (const flag of options.extraFlags) {
    if (flag.names.includes(name)) return { kind: "extra", flag };
  }
  return undefined;
}

/** A known flag as named on the line: `--no-x` is the negation of the switch `--x`. */
type Found = { known: Known; negated: boolean };

function findFlag(name: string, options: ProxyParseOptions): Found | undefined {
  const known = lookup(name, options);
  if (known !== undefined) return { known, negated: false };
  if (!name.startsWith("--no-")) return undefined;
  const positive = lookup(`--${name.slice(5)}`, options);
  if (
    positive !== undefined &&
    ((positive.kind === "spec" && positive.flag.kind === "bool") ||
      (positive.kind === "extra" && positive.flag.arity === 0))
  ) {
    return { known: positive, negated: true };
  }
  return undefined;
}

function unknownOption(name: string, options: ProxyParseOptions): UsageError {
  return new UsageError(
    `unknown option ${name}${
      options.commandIndex !== undefined
        ? " (to pass options to the command, put them after the command or after --)"
        : ""
    }`,
  );
}

/**
 * The value of a known flag: its `=value`, else the next token (`usedNext`) when it takes one;
 * "true"/"false" for a switch.
 */
function flagValue(
  { known, negated }: Found,
  name: string,
  inline: string | undefined,
  next: string | undefined,
): { value: string; usedNext: boolean } {
  const takesValue = known.kind === "spec" ? known.flag.kind !== "bool" : known.flag.arity === 1;
  if (takesValue) {
    if (negated) throw new UsageError(`option ${name} does not take a value`);
    if (inline !== undefined) return { value: inline, usedNext: false };
    if (next === undefined) throw new UsageError(`option ${name} needs a value`);
    return { value: next, usedNext: true };
  }
  if (inline !== undefined && !/^(true|false|yes|no|1|0)$/i.test(inline)) {
    throw new UsageError(`option ${name} is a switch; received ${JSON.stringify(inline)}`);
  }
  const on = inline === undefined || /^(true|yes|1)$/i.test(inline);
  return { value: String(negated ? !on : on), usedNext: false };
}

/**
 * Parses a proxy argument list. Known long flags (`--user x`, `--user=x`, `--auto-start`,
 * `--no-auto-start`) are taken anywhere; `-h`/`--help` and short flags only before the
 * command; `--` passes everything after it verbatim as positionals.
 */
export function parseProxyArgs(
  argv: readonly string[],
  options: ProxyParseOptions,
): ParsedProxyArgs {
  const spec = new Map<SpecFlag, string[]>();
  const extra = new Map<string, string>();
  const positionals: string[] = [];
  let help = false;
  const inCommand = () =>
    options.commandIndex !== undefined && positionals.length > options.commandIndex;

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? "";
    if (token === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith("-") || token === "-") {
      positionals.push(token);
      continue;
    }
    const isLong = token.startsWith("--");
    if (!isLong && inCommand()) {
      positionals.push(token);
      continue;
    }
    if ((token === "-h" || token === "--help") && !inCommand()) {
      help = true;
      continue;
    }
    const eq = isLong ? token.indexOf("=") : -1;
    const name = eq >= 0 ? token.slice(0, eq) : token;
    const inline = eq >= 0 ? token.slice(eq + 1) : undefined;
    const found = findFlag(name, options);
    if (found === undefined) {
      if (inCommand()) {
        positionals.push(token);
        continue;
      }
      throw unknownOption(name, options);
    }
    const { value, usedNext } = flagValue(found, name, inline, argv[i + 1]);
    if (usedNext) i++;
    if (found.known.kind === "spec") {
      const list = spec.get(found.known.flag) ?? [];
      list.push(value);
      spec.set(found.known.flag, list);
    } else {
      extra.set(found.known.flag.key, value);
    }
  }
  return { spec, extra, positionals, help };
}

/** Help text listing the config flags (a markdown-ish bullet list for usage details). */
export function specFlagsHelp(flags: readonly SpecFlag[]): string {
  return flags
    .map((f) => {
      const value = f.kind === "bool" ? "" : f.kind === "env" ? " KEY=VALUE" : " VALUE";
      return `- \`${f.names.join(",")}${value}\`: ${f.description}`;
    })
    .join("\n");
}
