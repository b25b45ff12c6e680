import { BaseCommand } from "./base.js";
import { LifecycleVerbCommand } from "./lifecycle-verb.js";

export class StartCommand extends LifecycleVerbCommand {
  static override paths = [["start"]];

  static override usage = BaseCommand.Usage({
    category: "Processes",
    description: "Start processes (a failed one gets its start limit reset)",
    examples: [
      ["Start myapp", "$0 start myapp"],
      ["Start two processes", "$0 start web worker"],
      ["Start every process", "$0 start --all"],
    ],
  });

  protected readonly verb = "start";
}
