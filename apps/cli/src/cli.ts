import { Builtins, Cli, type CommandClass } from "clipanion";
import { commands } from "./commands/index.js";
import type { CliContext } from "./context.js";
import { CliError, ExitCode } from "./errors.js";
import { cliVersion } from "./version.js";

/** The names the CLI answers to; `psh` lists the `sys` verbs first. */
export const programNames = ["pm-cli", "dd-procmgr-cli", "psh"] as const;

/** The program name from PM_CLI_NAME, else the basename of argv0 without a .js suffix. */
export function programNameFrom(
  argv0: string | undefined,
  env: Record<string, string | undefined>,
): string {
  const forced = env.PM_CLI_NAME?.trim();
  if (forced) return forced;
  const base = (argv0 ?? "").split(/[\\/]/).pop() ?? "";
  const name = base.replace(/\.(c|m)?js$/, "").replace(/\.exe$/, "");
  return name === "" || name === "node" ? "pm-cli" : name;
}

/** clipanion's own commands, registered after ours: `-h`/`--help` and `-v`/`--version`. */
export const builtinCommands: readonly CommandClass<CliContext>[] = [
  Builtins.HelpCommand,
  Builtins.VersionCommand,
];

const categoryOrder = ["Processes", "Logs and events", "Daemon"];

/** clipanion's Cli with a general help that orders categories (sys first for psh). */
class ProcmgrCli extends Cli<CliContext> {
  override usage(
    command?: CommandClass<CliContext> | import("clipanion").Command<CliContext> | null,
    opts?: { colored?: boolean; detailed?: boolean; prefix?: string },
  ): string {
    if (command !== undefined && command !== null) return super.usage(command, opts);
    return this.generalUsage(opts?.colored ?? false);
  }

  private generalUsage(colored: boolean): string {
    const fmt = this.format(colored);
    const psh = this.binaryName === "psh";
    const groups = new Map<string, { usage: string; description: string; sys: boolean }[]>();
    for (const def of this.definitions({ colored })) {
      const category = (def.category ?? "Other").trim();
      const words = def.path.split(" ");
      const sys = words[1] === "sys";
      const list = groups.get(category) ?? [];
      list.push({ usage: def.usage, description: (def.description ?? "").trim(), sys });
      groups.set(category, list);
    }
    const rank = (name: string) => {
      const cmds = groups.get(name) ?? [];
      if (psh && cmds.some((c) => c.sys)) return -1;
      const i = categoryOrder.indexOf(name);
      return i < 0 ? categoryOrder.length : i;
    };
    const names = [...groups.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    let out = `${fmt.header(`${this.binaryLabel ?? "procmgr"} - ${this.binaryVersion ?? ""}`)}\n\n`;
    out += `  ${fmt.bold("$ ")}${this.binaryName} <command>\n`;
    for (const name of names) {
      out += `\n${fmt.header(name)}\n`;
      const cmds = groups.get(name) ?? [];
      for (const c of cmds) {
        out += `\n  ${fmt.bold(c.usage)}\n    ${c.description}\n`;
      }
    }
    out += `\nRun \`${this.binaryName} <command> --help\` for a command's options and examples.\n`;
    out += `Global: --address unix:/path|host:port (or PM_ADDRESS), -o json, --no-color.\n`;
    out += `Exit codes: 0 ok, 1 no/failed, 2 usage, 3 daemon unreachable, 4 permission denied.\n`;
    return out;
  }
}

export function createCli(
  programName: string,
  colored = false,
  commandClasses: readonly CommandClass<CliContext>[] = commands,
): Cli<CliContext> {
  const cli = new ProcmgrCli({
    enableColors: colored,
    binaryLabel: "procmgr: the process manager CLI",
    binaryName: programName,
    // `--version`: "pm-cli 0.1.0 (node v24.22.3)", the runtime being the executable's own.
    binaryVersion: `${programName} ${cliVersion} (node ${process.version})`,
    enableCapture: false,
  });
  for (const command of [...commandClasses, ...builtinCommands]) cli.register(command);
  return cli;
}

/**
 * Runs one command line. Unlike clipanion's `run`, errors go to stderr with our exit codes:
 * a parse error is a usage error (2); verbs report their own errors (see BaseCommand).
 */
export async function runCli(
  argv: readonly string[],
  context: CliContext,
  commandClasses: readonly CommandClass<CliContext>[] = commands,
): Promise<number> {
  const colored = context.colorDepth > 1;
  const cli = createCli(context.programName, colored, commandsFor(argv, commandClasses));
  let command: Awaited<ReturnType<typeof cli.process>>;
  try {
    command = cli.process([...argv], context);
  } catch (e) {
    if (!isClipanionError(e)) {
      context.stderr.write(`${context.programName}: ${CliError.from(e).message}\n`);
      return ExitCode.failed;
    }
    const text = cli.error(e instanceof Error ? e : new Error(String(e)), { colored });
    context.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
    return ExitCode.usage;
  }
  // clipanion's run() prints uncaught errors on stdout and its catch() path exits 0: report
  // them ourselves, on stderr, with the mapped exit code (BaseCommand verbs already do).
  let failure: number | undefined;
  command.catch = async (error: unknown) => {
    failure = await reportError(error, context);
  };
  try {
    const code = await cli.run(command, context);
    return failure ?? code;
  } catch (e) {
    return await reportError(e, context);
  }
}

/**
 * The commands a command line can mean: those whose first word is the line's first word, else
 * all of them (no verb, an option first, help, an unknown verb: clipanion then needs every
 * command to answer). clipanion builds its parser from every registered command at each run,
 * ~25 ms for all of ours: registering only the verb's commands keeps that off every call.
 */
export function commandsFor(
  argv: readonly string[],
  commandClasses: readonly CommandClass<CliContext>[],
): readonly CommandClass<CliContext>[] {
  const verb = argv[0];
  if (verb === undefined || verb.startsWith("-")) return commandClasses;
  const matching = commandClasses.filter((c) => (c.paths ?? []).some((p) => p[0] === verb));
  return matching.length > 0 ? matching : commandClasses;
}

async function reportError(error: unknown, context: CliContext): Promise<number> {
  let err: CliError;
  try {
    const { toCliError } = await import("./rpc-errors.js");
    err = toCliError(error, undefined, context.programName);
  } catch {
    err = CliError.from(error);
  }
  context.stderr.write(`${context.programName}: ${err.message}\n`);
  return err.exitCode;
}

function isClipanionError(e: unknown): e is Error {
  return e instanceof Error && typeof (e as { clipanion?: unknown }).clipanion === "object";
}
