import { Command } from "clipanion";
import type { CliContext } from "../../context.js";
import { CliError } from "../../errors.js";

/** Base of `daemon install|uninstall|rotate-token`: the verb's errors go to stderr with the CLI's exit codes. */
export abstract class DaemonCommand extends Command<CliContext> {
  /** The verb itself; returns the exit code. */
  abstract run(): Promise<number>;

  override async execute(): Promise<number> {
    try {
      return await this.run();
    } catch (e) {
      const err = await cliErrorOf(e);
      this.context.stderr.write(`${this.context.programName}: ${err.message}\n`);
      return err.exitCode;
    }
  }
}

/** A failed install step (a UnitError from @procmgr/unitgen) is a failure, not a CLI bug. */
async function cliErrorOf(e: unknown): Promise<CliError> {
  const { UnitError } = await import("@procmgr/unitgen");
  if (e instanceof UnitError) return new CliError("failed", e.message, { cause: e });
  return CliError.from(e);
}
