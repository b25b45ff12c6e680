import { Option } from "clipanion";
import { colorState } from "../format/color.js";
import { formatBytes, formatDuration } from "../format/duration.js";
import { BaseCommand } from "./base.js";

type Section = [title: string, rows: [label: string, value: string | undefined][]];

export class DescribeCommand extends BaseCommand {
  static override paths = [["describe"], ["show"], ["info"]];

  static override usage = BaseCommand.Usage({
    category: "Processes",
    description: "Show everything about one process",
    details: `
      Sections: basic, runtime, lifecycle, exit, dependencies, configuration, resource limits.
      Environment values are shown as \`<redacted>\` to callers without the daemon's credentials.
    `,
    examples: [
      ["Describe myapp", "$0 describe myapp"],
      ["As JSON", "$0 describe myapp -o json"],
    ],
  });

  name = Option.String({ name: "NAME" });

  async run(): Promise<number> {
    const client = await this.client();
    const d = await client.describe({ id: this.name });
    const f = await import("../format/process.js");
    if (this.json) {
      this.printJson(f.describeToJson(d));
      return 0;
    }
    const p = d.process;
    const s = d.spec;
    const e = d.lastExit;
    const c = this.colors;
    const time = (ts: Parameters<typeof f.timestampIso>[0]) => f.timestampIso(ts) ?? undefined;
    const list = (v: readonly string[] | undefined) =>
      v !== undefined && v.length > 0 ? v.join(", ") : undefined;
    const num = (v: number | undefined, unit = "") => (v === undefined ? undefined : `${v}${unit}`);
    const state = p ? f.stateName(p.state) : "unknown";
    const env = s ? Object.entries(s.env).map(([k, v]) => `${k}=${v}`) : [];
    const sections: Section[] = [
      [
        "Basic",
        [
          ["Name", p?.name ?? this.name],
          ["ID", p?.id],
          ["Description", s?.description],
          ["Source", p ? f.sourceName(p.source) : undefined],
          [
            "Command",
            s ? f.commandLine(s.command, s.args) : p ? f.commandLine(p.command, p.args) : undefined,
          ],
        ],
      ],
      [
        "Runtime",
        [
          ["State", colorState(c, state)],
          ["PID", p && p.pid > 0 ? String(p.pid) : "-"],
          ["Uptime", p && p.pid > 0 ? formatDuration(p.uptimeSeconds) : "-"],
          ["Runs", p ? String(p.runCount) : undefined],
          ["Restarts", p ? String(p.restartCount) : undefined],
          ["Consecutive failures", p ? String(p.consecutiveFailures) : undefined],
          ["Failure reason", p?.failureReason],
          ["Next restart", time(p?.nextRestartAt)],
        ],
      ],
      [
        "Lifecycle",
        [
          ["Created", time(p?.createdAt)],
          ["Started", time(p?.startedAt)],
          ["Ended", time(p?.endedAt)],
          ["Auto start", s ? String(s.autoStart) : undefined],
          ["Restart", s ? f.restartPolicyName(s.restart) : undefined],
          ["Restart delay", num(s?.restartSec, "s")],
          ["Restart max delay", num(s?.restartMaxDelaySec, "s")],
          [
            "Start limit",
            s?.startLimitBurst !== undefined
              ? `${s.startLimitBurst} in ${s.startLimitIntervalSec ?? "?"}s`
              : undefined,
          ],
          ["Start timeout", num(s?.timeoutStartSec, "s")],
          ["Stop timeout", num(s?.timeoutStopSec, "s")],
          ["Kill signal", s?.killSignal],
          ["Kill mode", s ? f.killModeName(s.killMode) : undefined],
          ["Success exit status", list(s?.successExitStatus.map(String))],
        ],
      ],
      [
        "Exit",
        e === undefined
          ? [["Last exit", "-"]]
          : [
              ["Code", e.code !== undefined ? String(e.code) : undefined],
              ["Signal", e.signal],
              ["Success", String(e.success)],
              ["Stopped by us", e.stoppedByUs ? "yes" : undefined],
              ["Timed out", e.timedOut ? "yes" : undefined],
              ["Spawn error", e.spawnError],
              ["Started", time(e.startedAt)],
              ["Ended", time(e.endedAt)],
              ["Duration", `${e.durationSeconds.toFixed(1)}s`],
            ],
      ],
      [
        "Dependencies",
        [
          ["After", list(s?.after)],
          ["Before", list(s?.before)],
          ["Requires", list(s?.requires)],
          ["Wants", list(s?.wants)],
          ["Binds to", list(s?.bindsTo)],
          ["Conflicts", list(s?.conflicts)],
        ],
      ],
      [
        "Configuration",
        [
          ["User", s?.user || p?.user],
          ["Group", s?.group],
          ["Working dir", s?.workingDir],
          ["Environment", env.length > 0 ? env.join("\n") : undefined],
          ["Environment file", s?.environmentFile],
          ["Stdout", d.stdoutPath || s?.stdout],
          ["Stderr", d.stderrPath || s?.stderr],
          ["PID file", s?.pidfile],
          ["Process type", s ? f.processTypeName(s.processType) : undefined],
          ["Exec start pre", list(s?.execStartPre)],
          ["Exec start post", list(s?.execStartPost)],
          ["Exec stop post", list(s?.execStopPost)],
          ["Runtime directory", list(s?.runtimeDirectory)],
          ["Condition path exists", list(s?.conditionPathExists)],
          ["Ambient capabilities", list(s?.ambientCapabilities)],
          [
            "Health check",
            s?.healthCheck && s.healthCheck.type !== 0
              ? JSON.stringify(f.specToJson(s).health_check)
              : undefined,
          ],
        ],
      ],
      [
        "Resource limits",
        [
          ["CPU", s?.resourceLimits?.cpu],
          ["Memory", s?.resourceLimits?.memory ? memory(s.resourceLimits.memory) : undefined],
          [
            "PIDs",
            s?.resourceLimits?.pids !== undefined ? String(s.resourceLimits.pids) : undefined,
          ],
        ],
      ],
    ];
    let text = "";
    for (const [title, rows] of sections) {
      const shown = rows.filter((r): r is [string, string] => r[1] !== undefined && r[1] !== "");
      text += `${c.bold(title)}\n`;
      if (shown.length === 0) {
        text += "  -\n";
        continue;
      }
      const width = Math.max(...shown.map(([l]) => l.length)) + 1;
      for (const [label, value] of shown) {
        const [first, ...more] = value.split("\n");
        text += `  ${`${label}:`.padEnd(width)} ${first}\n`;
        for (const line of more) text += `  ${" ".repeat(width)} ${line}\n`;
      }
    }
    if (d.envRedacted) text += c.grey("(environment values redacted: run with sudo to see them)\n");
    this.context.stdout.write(text);
    return 0;
  }
}

function memory(v: string): string {
  return /^\d+$/.test(v) ? `${v} (${formatBytes(Number(v))})` : v;
}
