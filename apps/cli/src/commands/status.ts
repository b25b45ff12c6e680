import { formatDuration } from "../format/duration.js";
import { BaseCommand } from "./base.js";

export class StatusCommand extends BaseCommand {
  static override paths = [["status"]];

  static override usage = BaseCommand.Usage({
    category: "Daemon",
    description: "Show the daemon's status (version, uptime, counts, config path, addresses)",
    examples: [
      ["Daemon status", "$0 status"],
      ["As JSON", "$0 status -o json"],
    ],
  });

  async run(): Promise<number> {
    const client = await this.client();
    const s = await client.getStatus({});
    const address = this.target?.address ?? "";
    if (this.json) {
      this.printJson({
        ready: s.ready,
        version: s.version,
        pid: s.pid,
        uptime_seconds: s.uptimeSeconds,
        total: s.total,
        running: s.running,
        stopped: s.stopped,
        failed: s.failed,
        config_path: s.configPath,
        state_dir: s.stateDir,
        bind_addresses: [...s.bindAddresses],
        address,
      });
      return 0;
    }
    const c = this.colors;
    const rows: [string, string][] = [
      ["Status", s.ready ? c.green("ready") : c.yellow("not ready")],
      ["Version", s.version],
      ["PID", s.pid > 0 ? String(s.pid) : "-"],
      ["Uptime", formatDuration(s.uptimeSeconds)],
      [
        "Processes",
        `${s.total} total, ${s.running} running, ${s.stopped} stopped, ${s.failed} failed`,
      ],
      ["Config", s.configPath || "-"],
      ["State dir", s.stateDir || "-"],
      ["Listening", s.bindAddresses.length > 0 ? s.bindAddresses.join(", ") : "-"],
      ["Connected via", address],
    ];
    const width = Math.max(...rows.map(([l]) => l.length)) + 1;
    this.print(rows.map(([l, v]) => `${`${l}:`.padEnd(width)} ${v}`).join("\n"));
    return 0;
  }
}
