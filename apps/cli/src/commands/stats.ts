import { Option } from "clipanion";
import { BaseCommand, processArgument } from "./base.js";

export class StatsCommand extends BaseCommand {
  static override paths = [["stats"]];

  static override usage = BaseCommand.Usage({
    category: "Processes",
    description: "Show CPU and memory of a process's whole tree (cgroup or process group)",
    details: `
      Read from the process's cgroup (every process it started, whatever group or session it
      moved to), or summed over its process group where it has no cgroup: \`Source\` says which.
      \`Memory (charged)\` is what its memory limit counts (page cache included), \`Memory peak\`
      the highest of this run; both need a cgroup. \`Memory (RSS)\` is resident anonymous memory.
    `,
    examples: [
      ["Resource usage of myapp", "$0 stats myapp"],
      ["As JSON", "$0 stats myapp -o json"],
    ],
  });

  name = Option.String({ name: processArgument });

  async run(): Promise<number> {
    const client = await this.client();
    const u = await client.getResourceUsage({ id: this.name });
    const format = await import("../format/usage.js");
    if (this.json) {
      this.printJson(format.usageToJson(u));
      return 0;
    }
    this.context.stdout.write(format.renderUsage(u));
    return 0;
  }
}
