import { formatBytes } from "@procmgr/platform";
import type { GetResourceUsageResponse } from "@procmgr/rpc";
import { usageSourceName } from "./process.js";

// Loaded lazily by `stats` (it pulls in the generated RPC code).

/** `stats -o json`: memory_bytes and memory_peak_bytes are null where the daemon has none. */
export function usageToJson(u: GetResourceUsageResponse): Record<string, unknown> {
  return {
    id: u.id,
    name: u.name,
    pid: u.pid > 0 ? u.pid : null,
    source: usageSourceName(u.source) || null,
    process_count: u.processCount,
    cpu_seconds: u.cpuSeconds,
    cpu_percent: u.cpuPercent,
    memory_bytes: u.memoryBytes === undefined ? null : Number(u.memoryBytes),
    memory_peak_bytes: u.memoryPeakBytes === undefined ? null : Number(u.memoryPeakBytes),
    memory_rss_bytes: Number(u.memoryRssBytes),
    threads: u.threads,
  };
}

/**
 * `stats` as text, one "Label: value" line each: where it was read (the cgroup, or the process
 * group), the memory charged to the cgroup and its peak when the daemon has them, then RSS.
 */
export function renderUsage(u: GetResourceUsageResponse): string {
  const source = usageSourceName(u.source).replaceAll("-", " ");
  const rows: [string, string | undefined][] = [
    ["Name", u.name],
    ["PID", u.pid > 0 ? String(u.pid) : "-"],
    ["Source", source || undefined],
    ["Processes", String(u.processCount)],
    ["CPU", `${u.cpuPercent.toFixed(1)}%`],
    ["CPU time", `${u.cpuSeconds.toFixed(2)}s`],
    ["Memory (charged)", bytes(u.memoryBytes)],
    ["Memory peak", bytes(u.memoryPeakBytes)],
    ["Memory (RSS)", formatBytes(Number(u.memoryRssBytes))],
    ["Threads", String(u.threads)],
  ];
  const shown = rows.filter((r): r is [string, string] => r[1] !== undefined);
  const width = Math.max(...shown.map(([l]) => l.length)) + 1;
  return shown.map(([l, v]) => `${`${l}:`.padEnd(width)} ${v}\n`).join("");
}

function bytes(n: bigint | undefined): string | undefined {
  return n === undefined ? undefined : formatBytes(Number(n));
}
