/** Small, synchronous /proc readers (Linux). */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export interface ProcStat {
  readonly pid: number;
  readonly state: string;
  readonly ppid: number;
  readonly pgrp: number;
  readonly utime: number;
  readonly stime: number;
  readonly threads: number;
  /** Field 22: start time in clock ticks since boot. */
  readonly startTime: number;
}

export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // comm (field 2) may contain spaces and parentheses: fields resume after the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3.
  const f = (n: number): number => Number(rest[n - 3]);
  return {
    pid,
    state: rest[0] ?? "?",
    ppid: f(4),
    pgrp: f(5),
    utime: f(14),
    stime: f(15),
    threads: f(20),
    startTime: f(22),
  };
}

/**
 * True when `pid` is `rootPid` or one of its descendants: `rootPid` is found walking up the parent
 * chain of `pid` (field 4 of /proc/<pid>/stat). `pid === rootPid` is true without looking at
 * /proc; otherwise false as soon as an entry on the way is gone (the process exited, or it is not
 * visible in this pid namespace) or the walk reaches pid 0. A pid of 0 or less (credentials of a
 * sender outside this pid namespace carry 0) is in no tree.
 */
export function isInProcessTree(pid: number, rootPid: number): boolean {
  if (pid <= 0 || rootPid <= 0) return false;
  if (pid === rootPid) return true;
  const seen = new Set<number>();
  let current = pid;
  while (current > 0 && !seen.has(current)) {
    seen.add(current);
    const st = readProcStat(current);
    if (st === undefined) return false;
    if (st.ppid === rootPid) return true;
    current = st.ppid;
  }
  return false;
}

let bootIdCache: string | undefined;
export function bootId(): string {
  if (bootIdCache === undefined) {
    bootIdCache = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  }
  return bootIdCache;
}

let confCache: { pageSize: number; clockTicks: number } | undefined;
function sysconf(): { pageSize: number; clockTicks: number } {
  if (!confCache) {
    const get = (name: string, fallback: number): number => {
      try {
        const v = Number(execFileSync("getconf", [name], { encoding: "utf8" }).trim());
        return Number.isFinite(v) && v > 0 ? v : fallback;
      } catch {
        return fallback;
      }
    };
    confCache = { pageSize: get("PAGESIZE", 4096), clockTicks: get("CLK_TCK", 100) };
  }
  return confCache;
}

/** Live (non-zombie) pids whose process group is `pgid`. */
export function groupMembers(pgid: number): ProcStat[] {
  const out: ProcStat[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const e of entries) {
    const c = e.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const st = readProcStat(Number(e));
    if (st && st.pgrp === pgid && st.state !== "Z" && st.state !== "X") out.push(st);
  }
  return out;
}

export interface GroupUsage {
  readonly processCount: number;
  readonly cpuSeconds: number;
  readonly rssBytes: number;
  readonly threads: number;
}

/** utime+stime, statm RSS and threads summed over the live members of a process group. */
export function groupUsage(pgid: number): GroupUsage {
  return membersUsage(groupMembers(pgid));
}

/** utime+stime, statm RSS and threads summed over `members` (those still alive). */
export function membersUsage(members: readonly ProcStat[]): GroupUsage {
  const { pageSize, clockTicks } = sysconf();
  let ticks = 0;
  let rssPages = 0;
  let threads = 0;
  let count = 0;
  for (const st of members) {
    let statm: string;
    try {
      statm = readFileSync(`/proc/${st.pid}/statm`, "utf8");
    } catch {
      continue;
    }
    count++;
    ticks += st.utime + st.stime;
    threads += st.threads;
    rssPages += Number(statm.split(" ")[1] ?? 0);
  }
  return {
    processCount: count,
    cpuSeconds: ticks / clockTicks,
    rssBytes: rssPages * pageSize,
    threads,
  };
}

/** True when `pid` is gone (no such process, or a zombie waiting to be reaped). */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return true;
  }
  const st = readProcStat(pid);
  return st === undefined || st.state === "Z" || st.state === "X";
}

/** kill() that ignores "no such process". */
export function signalSafe(target: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw e;
  }
}
