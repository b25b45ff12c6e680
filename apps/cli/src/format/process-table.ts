import { commandLine } from "@procmgr/platform";
import type { ProcessStatus } from "@procmgr/rpc";
import { type Colors, colorHealth, colorState, visibleLength } from "./color.js";
import { formatDuration } from "./duration.js";
import { cpuText, exitSummary, healthName, memoryText, oneLine, stateName } from "./process.js";
import { renderTable } from "./table.js";

export const processTableHeaders = [
  "NAME",
  "ID",
  "PID",
  "STATE",
  "HEALTH",
  "RESTARTS",
  "UPTIME",
  "CPU",
  "MEM",
  "COMMAND",
  "EXIT",
] as const;

/** Shown after EXIT when a process says what it does (sd_notify STATUS=) and there is room. */
export const statusHeader = "STATUS";

/** Left out first when the terminal is too narrow (`describe` and `stats` show them). */
const usageHeaders = new Set(["CPU", "MEM"]);

/**
 * The `list` table. HEALTH is "-" without a running health check. COMMAND is cut to fit `width`
 * (a terminal's columns) when given. When a process has a STATUS= text (a notify process), a
 * STATUS column follows, cut to fit too. On a terminal too narrow for all of them (at least 10
 * columns of COMMAND and of STATUS), STATUS is left out, then CPU and MEM: `describe` shows
 * them.
 */
export function renderProcessTable(
  processes: readonly ProcessStatus[],
  colors: Colors,
  width?: number,
): string {
  const rows = processes.map((p) => {
    const state = stateName(p.state);
    const health = healthName(p.healthStatus);
    return [
      p.name,
      p.id.slice(0, 8),
      p.pid > 0 ? String(p.pid) : "-",
      colorState(colors, state),
      health === "" ? "-" : colorHealth(colors, health),
      String(p.restartCount),
      p.pid > 0 ? formatDuration(p.uptimeSeconds) : "-",
      cpuText(p),
      memoryText(p),
      commandLine(p.command, p.args),
      exitSummary(p),
      oneLine(p.statusText) || "-",
    ];
  });
  const all = [...processTableHeaders, statusHeader];
  const withStatus = processes.some((p) => p.statusText !== "");
  const choices = [
    ...(withStatus ? [all] : []),
    [...processTableHeaders],
    ...(withStatus ? [all.filter((h) => !usageHeaders.has(h))] : []),
    processTableHeaders.filter((h) => !usageHeaders.has(h)),
  ];
  let out = "";
  for (const headers of choices) {
    const keep = headers.map((h) => all.indexOf(h));
    const at = (h: string): number => headers.indexOf(h);
    out = renderTable(
      headers,
      rows.map((row) => keep.map((i) => row[i] ?? "")),
      {
        maxWidth: width,
        alignRight: ["PID", "RESTARTS", "CPU", "MEM"].map(at).filter((i) => i >= 0),
        shrink: ["COMMAND", statusHeader].map(at).filter((i) => i >= 0),
      },
    );
    if (width === undefined || out.split("\n").every((l) => visibleLength(l) <= width)) break;
  }
  return out;
}
