import { Option } from "clipanion";
import { BaseCommand } from "./base.js";

export class RestartCommand extends BaseCommand {
  static override paths = [["restart"]];

  static override usage = BaseCommand.Usage({
    category: "Processes",
    description: "Restart processes (stop if running, then start)",
    examples: [
      ["Rerestart myapp", "$0 start myapp"],
      ["Restart two processes", "$0 restart web worker"],
    ],
  });

  names = Option.Rest({ name: "NAME", required: 1 });

  async run(): Promise<number> {
    const client = await this.client();
    const f = await import("../format/process.js");
    const out: Record<string, unknown>[] = [];
    for (const id of this.names) {
      const { process: p } = await client.restart({ id });
      if (p === undefined) continue;
      if (this.json) out.push(f.processToJson(p));
      else
        this.print(
          `restarted ${p.name}${p.pid > 0 ? ` (pid ${p.pid})` : ""}: ${f.stateName(p.state)}`,
        );
    }
    if (this.json) this.printJson(out.length === 1 ? out[0] : out);
    return 0;
  }
}
