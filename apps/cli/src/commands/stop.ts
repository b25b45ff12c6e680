import { Option } from "clipanion";
import { BaseCommand } from "./base.js";

export class StopCommand extends BaseCommand {
  static override paths = [["stop"]];

  static override usage = BaseCommand.Usage({
    category: "Processes",
    description: "Stop processes (a manual stop never triggers a restart)",
    examples: [
      ["Stop myapp", "$0 stop myapp"],
      ["Stop two processes", "$0 stop web worker"],
    ],
  });

  names = Option.Rest({ name: "NAME", required: 1 });

  async run(): Promise<number> {
    const client = await this.client();
    const f = await import("../format/process.js");
    const out: Record<string, unknown>[] = [];
    for (const id of this.names) {
      const { process: p } = await client.stop({ id });
      if (p === undefined) continue;
      if (this.json) out.push(f.processToJson(p));
      else this.print(`stopped ${p.name}: ${f.stateName(p.state)}`);
    }
    if (this.json) this.printJson(out.length === 1 ? out[0] : out);
    return 0;
  }
}
