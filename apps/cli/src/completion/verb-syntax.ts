import { Builtins, Command, type CommandClass } from "clipanion";
import { processArgument } from "../commands/base.js";
import { ProxyVerbCommand } from "../commands/proxy-verb.js";
import type { CliContext } from "../context.js";
import type { ExtraFlag, SpecFlag } from "../proxy-args.js";

/** One option of a verb, as completion offers it. */
export interface FlagSyntax {
  /** Every spelling: "-f", "--force" (and "--no-x" where the help text names it). */
  readonly names: readonly string[];
  /** How many words follow it (0: a switch). */
  readonly arity: number;
  readonly description: string;
  /** The values it takes, when they are a fixed list (`--restart always|on-failure...`). */
  readonly values?: readonly string[];
}

/** A verb: the words that name it (aliases are verbs of their own) and its class. */
export interface Verb {
  /** ["start"], ["sys", "up"]; the builtins' flags too (["--help"]). */
  readonly path: readonly string[];
  readonly description: string;
  readonly commandClass: CommandClass<CliContext>;
}

/** What may follow a verb's words, read from its command class. */
export interface ArgSyntax {
  readonly flags: readonly FlagSyntax[];
  /** The positionals in order; `processArgument` is a process the daemon knows. */
  readonly positionals: readonly string[];
  /** The name of the list of words after them, if the verb takes one. */
  readonly rest?: string;
}

interface OptionDefinition {
  definition(builder: unknown, key: string): void;
}

function isOptionDefinition(value: unknown): value is OptionDefinition {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[Command.isOption] === true
  );
}

/** The `--no-x` spellings a switch's help names ("--no-color disables"). */
function negations(names: readonly string[], description: string): string[] {
  return names
    .filter((n) => n.startsWith("--") && description.includes(`--no-${n.slice(2)}`))
    .map((n) => `--no-${n.slice(2)}`);
}

/**
 * Runs each option's clipanion definition against a recorder: the same declarations (`Option.*`
 * fields) that clipanion's `register` turns into its parser, so the flags and positionals
 * offered are the ones the verb parses.
 */
function declared(command: Command<CliContext>): ArgSyntax {
  const flags: FlagSyntax[] = [];
  const positionals: string[] = [];
  let rest: string | undefined;
  const recorder = {
    addOption(o: { names: string[]; arity?: number; hidden?: boolean; description?: string }) {
      if (o.hidden === true) return;
      const description = o.description ?? "";
      const names = [...o.names, ...negations(o.names, description)];
      flags.push({ names, arity: o.arity ?? 0, description });
    },
    addPositional(o: { name?: string } = {}) {
      positionals.push(o.name ?? "arg");
    },
    addRest(o: { name?: string } = {}) {
      rest = o.name ?? "arg";
    },
    addProxy(o: { name?: string } = {}) {
      rest = o.name ?? "args";
    },
  };
  const fields = command as unknown as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (isOptionDefinition(value)) value.definition(recorder, key);
  }
  return { flags, positionals, ...(rest !== undefined ? { rest } : {}) };
}

function specFlagSyntax(flag: SpecFlag): FlagSyntax {
  const values =
    flag.values === undefined ? [] : [...flag.values, ...Object.keys(flag.aliases ?? {})];
  return {
    names: flag.names,
    arity: flag.kind === "bool" ? 0 : 1,
    description: flag.description,
    ...(values.length > 0 ? { values } : {}),
  };
}

function extraFlagSyntax(flag: ExtraFlag): FlagSyntax {
  return { names: flag.names, arity: flag.arity, description: "" };
}

/** A proxy verb's words come from its own parser's options (create, update). */
async function proxied(command: ProxyVerbCommand, own: ArgSyntax): Promise<ArgSyntax> {
  const options = await command.parseOptions();
  const known = new Set(own.flags.flatMap((f) => f.names));
  const flags = [
    ...options.specFlags.map(specFlagSyntax),
    ...options.extraFlags.filter((f) => !f.names.some((n) => known.has(n))).map(extraFlagSyntax),
  ];
  return {
    flags: [...own.flags, ...flags],
    positionals: command.firstIsProcess ? [processArgument] : [],
    // Free words after the positionals only where the verb runs a command (create).
    ...(options.commandIndex !== undefined ? { rest: "ARGS" } : {}),
  };
}

/** `-h`/`--help` work on every verb (clipanion's help command answers them). */
const helpFlag: FlagSyntax = {
  names: (Builtins.HelpCommand.paths ?? []).flat(),
  arity: 0,
  description: "Show the verb's usage",
};

/** A class named by flags: clipanion's `--help` and `--version`. */
function isFlagCommand(commandClass: CommandClass<CliContext>): boolean {
  return (commandClass.paths ?? []).every((p) => (p[0] ?? "").startsWith("-"));
}

/**
 * Every verb of the command classes, one per path (aliases included). A class without `usage`
 * is hidden (`__complete`), unless its paths are flags (`--help`, `--version`).
 */
export function verbsOf(commandClasses: readonly CommandClass<CliContext>[]): Verb[] {
  return commandClasses.flatMap((commandClass) => {
    const usage = commandClass.usage;
    if (usage === undefined && !isFlagCommand(commandClass)) return [];
    const description = (usage?.description ?? "").trim();
    return (commandClass.paths ?? []).map((path) => ({ path, description, commandClass }));
  });
}

/** The flags and positionals of a verb's class (a proxy verb's from its own parser). */
export async function argSyntax(commandClass: CommandClass<CliContext>): Promise<ArgSyntax> {
  if (isFlagCommand(commandClass)) return { flags: [], positionals: [] };
  const command = new commandClass();
  let syntax = declared(command);
  if (command instanceof ProxyVerbCommand) syntax = await proxied(command, syntax);
  return { ...syntax, flags: [...syntax.flags, helpFlag] };
}
