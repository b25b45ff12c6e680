import { terminalColumns } from "../context.js";
import { BaseCommand } from "./base.js";

export class ListCommand extends BaseCommand {
  static override paths = [["list"], ["ls"], ["ps"]];

  static override usage = BaseCommand.Usage({
    category: "Processes",
    description: "List every process with its state",
    details: `
      Prints a table: NAME, ID (first 8 characters), PID, STATE, HEALTH (healthy, unhealthy or
      unknown while a health check runs, else -), RESTARTS, UPTIME, CPU (share of one core since
      the previous reading) and MEM (charged to its cgroup: the whole tree; - without a cgroup),
      COMMAND and EXIT (last exit
      code or signal), then STATUS (what a notify process says of itself, sd_notify STATUS=)
      when a process has one. On a terminal states are coloured and COMMAND and STATUS are cut
      to fit.

      With \`-o json\` prints a JSON array of objects (name, id, pid, state, restarts, exit_code,
      user, command, args, uptime_seconds, run_count, health, health_check_failures,
      last_health_check, health_detail, status_text, enforcement, oom_kills, usage, ...).
    `,
    examples: [
      ["List processes", "$0 list"],
      ["As JSON", "$0 list -o json"],
    ],
  });

  async run(): Promise<number> {
    const statuses = await this.listStatuses();
    const f = await import("../format/process.js");
    // Code-point order: localeCompare would load ICU's collator (~15 ms) for ASCII names.
    const processes = statuses.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (this.json) {
      this.printJson(processes.map(f.processToJson));
      return 0;
    }
    if (processes.length === 0) {
      this.print(
        `No processes. Create one with: ${this.context.programName} create NAME COMMAND [ARGS...]`,
      );
      return 0;
    }
    const { renderProcessTable } = await import("../format/process-table.js");
    this.context.stdout.write(
      renderProcessTable(processes, this.colors, terminalColumns(this.context)),
    );
    return 0;
  }
}
