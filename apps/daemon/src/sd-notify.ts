/**
 * The daemon as a `Type=notify` service: it tells systemd when it serves (READY=1), when it
 * reloads (RELOADING=1, then READY=1) and when it stops (STOPPING=1), with a STATUS= line that
 * `systemctl status dd-procmgrd` shows. Without $NOTIFY_SOCKET (not under systemd, or another
 * Type=) nothing is sent. A failure to send is logged, never fatal.
 */
import { sdNotify } from "@procmgr/platform";
import type { Logger } from "./logger.js";

export type DaemonNotice = "ready" | "reloading" | "stopping";

function fields(notice: DaemonNotice, status: string): Record<string, string | number> {
  if (notice === "ready") return { READY: 1, STATUS: status };
  if (notice === "reloading") {
    // systemd (253+) wants the monotonic time of the reload with RELOADING=1.
    const usec = process.hrtime.bigint() / 1000n;
    return { RELOADING: 1, MONOTONIC_USEC: usec.toString(), STATUS: status };
  }
  return { STOPPING: 1, STATUS: status };
}

export async function notifySystemd(
  log: Logger,
  notice: DaemonNotice,
  status: string,
): Promise<void> {
  try {
    await sdNotify(fields(notice, status));
  } catch (e) {
    log.warn("could not notify systemd", { notice, error: (e as Error).message });
  }
}
