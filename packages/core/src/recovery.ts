/**
 * Recovery after a daemon crash. Each process's cgroup holds every process it started, whatever
 * group or session they moved to: `recover` stops what the process cgroups under the
 * supervisor's subtree still hold (kill_signal, then the whole cgroup killed) and removes them.
 * Where there are no cgroups, `<stateDir>/run/<id>.json` records each running child (pid, pgid,
 * process start time, boot id, how to stop it); `recover` stops the groups of the records a
 * crashed supervisor left whose pid, start time and boot id still match (a reused pid is never
 * touched), escalating to SIGKILL, and forgets every record.
 */
import { rmSync } from "node:fs";
import type { Cgroups } from "./cgroups.js";
import type { Host, Managed, Run } from "./managed.js";
import { bootId, groupMembers, isGone, readProcStat, signalSafe } from "./proc-fs.js";
import type { RunRecord, RunRecords } from "./run-records.js";
import { sleep } from "./stopper.js";

/** The pidfile of a run that ended; a disk that refuses is said, the exit goes on. */
export function removePidfile(host: Host, m: Managed): void {
  if (m.config.pidfile === undefined) return;
  try {
    rmSync(m.config.pidfile, { force: true });
  } catch (e) {
    host.warn(m, `"${m.name}": cannot remove its pidfile: ${(e as Error).message}`, e);
  }
}

/** Records a run that has just spawned (nothing when it is already gone). */
export function recordRun(records: RunRecords, m: Managed, run: Run): void {
  const st = readProcStat(run.pid);
  if (st && !run.exit) {
    records.write({
      id: m.id,
      name: m.name,
      pid: run.pid,
      pgid: run.pgid,
      startTime: st.startTime,
      bootId: bootId(),
      killSignal: m.config.killSignal,
      timeoutStopSec: m.config.timeoutStopSec,
    });
  }
}

/**
 * Stops what the records of a crashed supervisor describe, and deletes every record. A record
 * of another boot, or of a process this supervisor runs itself (`isRunning`), stops nothing.
 */
export async function stopLeftovers(
  records: RunRecords,
  isRunning: (id: string) => boolean,
): Promise<{ readonly stopped: readonly { name: string; pid: number }[] }> {
  const found = records.readAll();
  const currentBoot = bootId();
  const results = await Promise.all(
    found.map(async (r) => {
      try {
        if (r.bootId !== currentBoot || isRunning(r.id)) return undefined;
        return await stopLeftover(r);
      } finally {
        records.remove(r.id);
      }
    }),
  );
  return { stopped: results.filter((x): x is { name: string; pid: number } => x !== undefined) };
}

/** Stops the group of one record, if it is still the one recorded. */
async function stopLeftover(r: RunRecord): Promise<{ name: string; pid: number } | undefined> {
  const leader = readProcStat(r.pid);
  const leaderAlive =
    leader !== undefined &&
    leader.state !== "Z" &&
    leader.startTime === r.startTime &&
    leader.pgrp === r.pgid;
  let targets: number[];
  if (leaderAlive) {
    targets = [-r.pgid];
  } else if (leader === undefined || leader.state === "Z") {
    // The leader is gone; members forked after it started may remain in its group.
    targets = groupMembers(r.pgid)
      .filter((s) => s.startTime >= r.startTime)
      .map((s) => s.pid);
  } else {
    targets = []; // pid reused by another process: never touch it
  }
  if (targets.length === 0) return undefined;
  for (const t of targets) signalSafe(t, r.killSignal);
  const alive = (): boolean =>
    leaderAlive ? groupMembers(r.pgid).length > 0 : targets.some((pid) => !isGone(pid));
  const deadline = Date.now() + Math.min(r.timeoutStopSec, 10) * 1000;
  // These are not our children: no exit events to wait on, so poll (once, at startup).
  const never = new AbortController().signal;
  while (alive() && Date.now() < deadline) await sleep(20, never);
  if (alive()) for (const t of targets) signalSafe(t, "SIGKILL");
  return { name: r.name, pid: r.pid };
}

/**
 * Stops what the process cgroups of a crashed supervisor hold (with the kill signal and
 * timeout of the process's run record when there is one, at most 10 s, then the whole cgroup
 * killed) and removes them, with the run records they answer for (the records' pass then only
 * meets processes that ran without a cgroup); the cgroups of processes this supervisor runs
 * (`isRunning`) are left alone.
 */
export async function stopCgroupLeftovers(
  cgroups: Cgroups,
  records: RunRecords,
  isRunning: (name: string) => boolean,
): Promise<{ readonly stopped: readonly { name: string; pid: number }[] }> {
  const byName = new Map(records.readAll().map((r) => [r.name, r]));
  const stopped: { name: string; pid: number }[] = [];
  await Promise.all(
    [...cgroups.existing()].map(async ([name, cgroup]) => {
      if (isRunning(name)) return;
      const members = cgroup.members();
      const r = byName.get(name);
      if (members.length > 0) {
        for (const pid of members) signalSafe(pid, r?.killSignal ?? "SIGTERM");
        const timeout = Math.min(r?.timeoutStopSec ?? 10, 10) * 1000;
        const waited = new AbortController();
        await Promise.race([cgroup.whenEmpty(), sleep(timeout, waited.signal)]);
        waited.abort();
        cgroup.killAll((pid) => signalSafe(pid, "SIGKILL"));
        await cgroup.whenEmpty();
        stopped.push({ name, pid: r?.pid ?? members[0] ?? 0 });
      }
      cgroup.remove();
      if (r !== undefined) records.remove(r.id);
    }),
  );
  return { stopped };
}
