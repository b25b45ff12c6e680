import { BaseCommand } from "./base.js";
import { LifecycleVerbCommand } from "./lifecycle-verb.js";

export class StopCommand extends LifecycleVerbCommand {
  static override paths = [["stop"]];

  static override usage = BaseCommand.Usage({
    category: "Processes",
    description: "Stop processes (a manual stop never triggers a restart)",
    examples: [
      ["Stop myapp", "$0 stop myapp"],
      ["Stop two processes", "$0 stop web worker"],
      ["Stop every process", "$0 stop --all"],
    ],
  });

  protected readonly verb = "stop";
}
