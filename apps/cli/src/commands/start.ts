import { Option } from "clipanion";
import { BaseCommand } from "./base.js";

export class StartCommand extends BaseCommand {
  static override paths = [["start"]];

  static override usage = BaseCommand.Usage({
    category: "Processes",
    description: "Start processes (a failed one gets its start limit reset)",
    examples: [
      ["Start myapp", "$0 start myapp"],
      ["Start two processes", "$0 start web worker"],
    ],
  });

  names = Option.Rest({ name: "NAME", required: 1 });

  async run(): Promise<number> {
    const client = await this.client();
    const f = await import("../format/process.js");
    const out: Record<string, unknown>[] = [];
    for (const id of this.names) {
      const { process: p } = await client.start({ id });
      if (p === undefined) continue;
      if (this.json) out.push(f.processToJson(p));
      else
        this.print(
          `started ${p.name}${p.pid > 0 ? ` (pid ${p.pid})` : ""}: ${f.stateName(p.state)}`,
        );
    }
    if (this.json) this.printJson(out.length === 1 ? out[0] : out);
    return 0;
  }
}
