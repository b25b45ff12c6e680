import { Command } from "clipanion";
import { SysCommand, type SysVerb, targetsDetails } from "./sys-command.js";

export class SysEnableCommand extends SysCommand {
  static override paths = [["sys", "enable"]];

  static override usage = Command.Usage({
    category: "psh sys",
    description: "Enable units to start at boot",
    details: `Runs \`systemctl enable\` on each unit.\n${targetsDetails}`,
    examples: [
      ["Enable every enabled module and service", "$0 sys enable"],
      ["Enable one module", "$0 sys enable pilot"],
      ["Enable a service", "$0 sys enable --service tts"],
    ],
  });

  protected readonly verb: SysVerb = "enable";
}
