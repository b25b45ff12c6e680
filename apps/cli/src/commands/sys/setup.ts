import { Command } from "clipanion";
import { SysCommand, type SysVerb, targetsDetails } from "./sys-command.js";

export class SysSetupCommand extends SysCommand {
  static override paths = [["sys", "setup"]];

  static override usage = Command.Usage({
    category: "psh sys",
    description: "Generate systemd units for modules and services",
    details: `Writes \`psh-module-<name>.service\` / \`psh-service-<name>.service\` (only when the content changed) and runs \`systemctl daemon-reload\` when something changed. Units run as the installing user (\`$SUDO_USER\` under sudo) and that user's primary group.\n${targetsDetails}`,
    examples: [
      ["Generate units for every enabled module and service", "$0 sys setup"],
      ["Generate the unit of one module", "$0 sys setup pilot"],
      ["Generate the unit of a service", "$0 sys setup --service tts"],
      ["Show the units without writing them", "$0 sys setup --dry-run"],
    ],
  });

  protected readonly verb: SysVerb = "setup";
}
