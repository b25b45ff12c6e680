import { Option } from "clipanion";
import { BaseCommand, processArgument } from "./base.js";

export class EventsCommand extends BaseCommand {
  static override paths = [["events"]];

  static override usage = BaseCommand.Usage({
    category: "Logs and events",
    description:
      "Stream supervisor events (state changes, exits, restarts, health changes) until Ctrl-C",
    details: `
      One line per event; \`-o json\` prints one JSON object per line. Give names to see only
      those processes. A \`health_changed\` event carries the new status and the last check's
      result ("unhealthy: HTTP 404 (expected 200)"); an \`exited\` one why the run failed when
      its exit status does not say it (a health check, the watchdog, not ready in time).
    `,
    examples: [
      ["Every event", "$0 events"],
      ["Only myapp, as JSON lines", "$0 events myapp -o json"],
    ],
  });

  names = Option.Rest({ name: processArgument });

  async run(): Promise<number> {
    const f = await import("../format/process.js");
    const client = await this.client();
    const events = client.watchEvents({ ids: this.names }, { signal: this.context.signal });
    try {
      for await (const e of events) {
        this.context.stdout.write(
          this.json ? `${JSON.stringify(f.eventToJson(e))}\n` : `${f.eventLine(e)}\n`,
        );
      }
    } catch (e) {
      if (this.context.signal.aborted) return 0;
      throw e;
    }
    return 0;
  }
}
