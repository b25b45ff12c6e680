import { BaseCommand } from "./base.js";
import { LifecycleVerbCommand } from "./lifecycle-verb.js";

export class RestartCommand extends LifecycleVerbCommand {
  static override paths = [["restart"]];

  static override usage = BaseCommand.Usage({
    category: "Processes",
    description: "Restart processes (stop if running, then start)",
    examples: [
      ["Restart myapp", "$0 restart myapp"],
      ["Restart two processes", "$0 restart web worker"],
      ["Restart every process", "$0 restart --all"],
    ],
  });

  protected readonly verb = "restart";
}
