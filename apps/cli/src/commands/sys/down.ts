import { Command } from "clipanion";
import { SysCommand, type SysVerb, targetsDetails } from "./sys-command.js";

export class SysDownCommand extends SysCommand {
  static override paths = [["sys", "down"]];

  static override usage = Command.Usage({
    category: "psh sys",
    description: "Stop units",
    details: `Runs \`systemctl stop\` on each unit.\n${targetsDetails}`,
    examples: [
      ["Stop one module", "$0 sys down pilot"],
      ["Stop a service", "$0 sys down --service tts"],
    ],
  });

  protected readonly verb: SysVerb = "down";
}
