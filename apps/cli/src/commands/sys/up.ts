import { Command } from "clipanion";
import { SysCommand, type SysVerb, targetsDetails } from "./sys-command.js";

export class SysUpCommand extends SysCommand {
  static override paths = [["sys", "up"]];

  static override usage = Command.Usage({
    category: "psh sys",
    description: "Start units now",
    details: `Runs \`systemctl start\` on each unit.\n${targetsDetails}`,
    examples: [
      ["Start every enabled module and service", "$0 sys up"],
      ["Start one module", "$0 sys up pilot"],
      ["Start a service", "$0 sys up --service tts"],
    ],
  });

  protected readonly verb: SysVerb = "up";
}
