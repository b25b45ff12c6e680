import { Command } from "clipanion";
import { SysCommand, type SysVerb, targetsDetails } from "./sys-command.js";

export class SysDebugCommand extends SysCommand {
  static override paths = [["sys", "debug"]];

  static override usage = Command.Usage({
    category: "psh sys",
    description: "Show status and recent logs of units",
    details: `Prints, for each unit, a header, \`systemctl status <unit> --no-pager\` and \`journalctl -u <unit> -n 50 --no-pager\`.\n${targetsDetails}`,
    examples: [
      ["Inspect every enabled unit", "$0 sys debug"],
      ["Inspect one module", "$0 sys debug pilot"],
      ["Inspect a service", "$0 sys debug --service tts"],
    ],
  });

  protected readonly verb: SysVerb = "debug";
}
