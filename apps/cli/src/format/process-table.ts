import { commandLine } from "@procmgr/platform";
import type { ProcessStatus } from "@procmgr/rpc";
import { type Colors, colorState } from "./color.js";
import { formatDuration } from "./duration.js";
import { exitSummary, stateName } from "./process.js";
import { renderTable } from "./table.js";

export const processTableHeaders = [
  "NAME",
  "ID",
  "PID",
  "STATE",
  "RESTARTS",
  "UPTIME",
  "COMMAND",
  "EXIT",
] as const;

/** The `list` table; COMMAND is cut to fit `width` (a terminal's columns) when given. */
export function renderProcessTable(
  processes: readonly ProcessStatus[],
  colors: Colors,
  width?: number,
): string {
  const rows = processes.map((p) => {
    const state = stateName(p.state);
    return [
      p.name,
      p.id.slice(0, 8),
      p.pid > 0 ? String(p.pid) : "-",
      colorState(colors, state),
      String(p.restartCount),
      p.pid > 0 ? formatDuration(p.uptimeSeconds) : "-",
      commandLine(p.command, p.args),
      exitSummary(p),
    ];
  });
  return renderTable(processTableHeaders, rows, { maxWidth: width, shrink: 6, alignRight: [2, 4] });
}
