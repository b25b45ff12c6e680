import { Command } from "clipanion";
import { SysCommand, type SysVerb, targetsDetails } from "./sys-command.js";

export class SysTeardownCommand extends SysCommand {
  static override paths = [["sys", "teardown"]];

  static override usage = Command.Usage({
    category: "psh sys",
    description: "Stop, disable and remove systemd units",
    details: `Stops and disables each unit first (so no process or \`.wants/\` link is left behind), removes its file, then runs \`systemctl daemon-reload\`.\n${targetsDetails}`,
    examples: [
      ["Remove the unit of a module", "$0 sys teardown pilot"],
      ["Remove the unit of a service", "$0 sys teardown --service tts"],
    ],
  });

  protected readonly verb: SysVerb = "teardown";
}
