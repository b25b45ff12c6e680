import { Option } from "clipanion";
import { BaseCommand, processArgument } from "./base.js";

export class DescribeCommand extends BaseCommand {
  static override paths = [["describe"], ["show"], ["info"]];

  static override usage = BaseCommand.Usage({
    category: "Processes",
    description: "Show everything about one process",
    details: `
      Sections: basic, runtime (state, health and the last check's result, the STATUS= text of a
      notify process...), lifecycle, exit (with why a run failed: not ready in time, health
      check, watchdog, the OOM killer), dependencies, configuration, resource limits (how the
      process is tracked: its cgroup or its process group, and what enforces each limit).
      Environment values are shown as \`<redacted>\` to callers without the daemon's credentials.
    `,
    examples: [
      ["Describe myapp", "$0 describe myapp"],
      ["As JSON", "$0 describe myapp -o json"],
    ],
  });

  name = Option.String({ name: processArgument });

  async run(): Promise<number> {
    const client = await this.client();
    const d = await client.describe({ id: this.name });
    const page = await import("../format/describe-page.js");
    if (this.json) {
      this.printJson(page.describeToJson(d));
      return 0;
    }
    const text = page.renderDescribe({
      name: this.name,
      d,
      p: d.process,
      s: d.spec,
      e: d.lastExit,
      colors: this.colors,
    });
    this.context.stdout.write(text);
    return 0;
  }
}
