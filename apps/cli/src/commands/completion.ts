import { Command, Option, UsageError } from "clipanion";
import { completionScript, isShell, shells } from "../completion/scripts.js";
import type { CliContext } from "../context.js";

const shellList = shells.join(", ");

export class CompletionCommand extends Command<CliContext> {
  static override paths = [["completion"]];

  static override usage = Command.Usage({
    category: "Shell",
    description: `Print the shell completion script (${shellList})`,
    details: `
      The script completes the verbs (\`sys up\`, \`daemon install\`...), each verb's options and
      the names of the daemon's processes (asked of the daemon the line names with \`--address\`,
      else the one the CLI finds), under every name the CLI is installed as. The script asks the
      CLI for them as you type: it needs no update when the CLI changes.
    `,
    examples: [
      ["Complete in this bash shell", "source <($0 completion bash)"],
      ["Install for zsh (a directory of fpath)", "$0 completion zsh > ~/.zfunc/_$0"],
      ["Install for fish", "$0 completion fish > ~/.config/fish/completions/$0.fish"],
    ],
  });

  shell = Option.String({ name: "SHELL" });

  override async execute(): Promise<number> {
    // Not a static import: cli.ts imports the commands.
    const { programNames } = await import("../cli.js");
    if (!isShell(this.shell)) {
      throw new UsageError(
        `unknown shell ${JSON.stringify(this.shell)}: completion scripts are for ${shellList}`,
      );
    }
    this.context.stdout.write(completionScript(this.shell, programNames));
    return 0;
  }
}
