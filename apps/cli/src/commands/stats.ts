import { formatBytes } from "@procmgr/platform";
import { Option } from "clipanion";
import { BaseCommand } from "./base.js";

export class StatsCommand extends BaseCommand {
  static override paths = [["stats"]];

  static override usage = BaseCommand.Usage({
    category: "Processes",
    description: "Show CPU and memory of a process (its whole process group)",
    examples: [
      ["Resource usage of myapp", "$0 stats myapp"],
      ["As JSON", "$0 stats myapp -o json"],
    ],
  });

  name = Option.String({ name: "NAME" });

  async run(): Promise<number> {
    const client = await this.client();
    const u = await client.getResourceUsage({ id: this.name });
    if (this.json) {
      this.printJson({
        id: u.id,
        name: u.name,
        pid: u.pid > 0 ? u.pid : null,
        process_count: u.processCount,
        cpu_seconds: u.cpuSeconds,
        cpu_percent: u.cpuPercent,
        memory_rss_bytes: Number(u.memoryRssBytes),
        threads: u.threads,
      });
      return 0;
    }
    const rows: [string, string][] = [
      ["Name", u.name],
      ["PID", u.pid > 0 ? String(u.pid) : "-"],
      ["Processes", String(u.processCount)],
      ["CPU", `${u.cpuPercent.toFixed(1)}%`],
      ["CPU time", `${u.cpuSeconds.toFixed(2)}s`],
      ["Memory (RSS)", formatBytes(Number(u.memoryRssBytes))],
      ["Threads", String(u.threads)],
    ];
    const width = Math.max(...rows.map(([l]) => l.length)) + 1;
    this.print(rows.map(([l, v]) => `${`${l}:`.padEnd(width)} ${v}`).join("\n"));
    return 0;
  }
}
