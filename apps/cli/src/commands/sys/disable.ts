import { Command } from "clipanion";
import { SysCommand, type SysVerb, targetsDetails } from "./sys-command.js";

export class SysDisableCommand extends SysCommand {
  static override paths = [["sys", "disable"]];

  static override usage = Command.Usage({
    category: "psh sys",
    description: "Disable units from starting at boot",
    details: `Runs \`systemctl disable\` on each unit.\n${targetsDetails}`,
    examples: [
      ["Disable one module", "$0 sys disable pilot"],
      ["Disable a service", "$0 sys disable --service tts"],
    ],
  });

  protected readonly verb: SysVerb = "disable";
}
