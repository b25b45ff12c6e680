import { commandLine } from "@procmgr/platform";
import type { ProcessStatus } from "@procmgr/rpc";
import { type Colors, colorHealth, colorState, visibleLength } from "./color.js";
import { formatDuration } from "./duration.js";
import { exitSummary, healthName, oneLine, stateName } from "./process.js";
import { renderTable } from "./table.js";

export const processTableHeaders = [
  "NAME",
  "ID",
  "PID",
  "STATE",
  "HEALTH",
  "RESTARTS",
  "UPTIME",
  "COMMAND",
  "EXIT",
] as const;

/** Shown after EXIT when a process says what it does (sd_notify STATUS=) and there is room. */
export const statusHeader = "STATUS";

const commandColumn = processTableHeaders.indexOf("COMMAND");

/**
 * The `list` table. HEALTH is "-" without a running health check. COMMAND is cut to fit `width`
 * (a terminal's columns) when given. When a process has a STATUS= text (a notify process), a
 * STATUS column follows, cut to fit too; on a terminal too narrow for it (at least 10 columns
 * of it and of COMMAND) it is left out: `describe` shows it.
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
      commandLine(p.command, p.args),
      exitSummary(p),
    ];
  });
  const options = { maxWidth: width, alignRight: [2, 5] };
  if (processes.some((p) => p.statusText !== "")) {
    const withStatus = renderTable(
      [...processTableHeaders, statusHeader],
      rows.map((row, i) => [...row, oneLine(processes[i]?.statusText ?? "") || "-"]),
      { ...options, shrink: [commandColumn, processTableHeaders.length] },
    );
    if (width === undefined || withStatus.split("\n").every((l) => visibleLength(l) <= width)) {
      return withStatus;
    }
  }
  return renderTable(processTableHeaders, rows, { ...options, shrink: commandColumn });
}
