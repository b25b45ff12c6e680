/**
 * Reading /proc directly: the benchmark never trusts a tool's own view of its children.
 * A managed process "exists" when /proc shows a child of the daemon that has exec'd the managed
 * program (its comm matches) and is not a zombie; it is "reaped" when /proc/<pid> is gone.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of utime/stime in /proc/<pid>/stat (getconf CLK_TCK; 100 on Linux). */
export const clockTicks = 100;

/**
 * @typedef {{ pid: number, comm: string, state: string, ppid: number, utime: number,
 *   stime: number, starttime: number }} ProcStat
 */

/** @returns {ProcStat | null} null when the process does not exist (any more). */
export function readStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return null;
  }
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const f = text.slice(close + 2).split(" ");
  return {
    pid,
    comm,
    state: f[0],
    ppid: Number(f[1]),
    utime: Number(f[11]),
    stime: Number(f[12]),
    starttime: Number(f[19]),
  };
}

/** CPU seconds (user + system, all threads, without reaped children) of a live process. */
export function cpuSeconds(pid) {
  const s = readStat(pid);
  return s === null ? Number.NaN : (s.utime + s.stime) / clockTicks;
}

/** VmRSS in bytes, or NaN when the process is gone. */
export function rssBytes(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/status`, "latin1");
  } catch {
    return Number.NaN;
  }
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** RssAnon (heap, stacks: what the process allocated) in bytes, or NaN when it is gone. */
export function rssAnonBytes(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/status`, "latin1");
  } catch {
    return Number.NaN;
  }
  const m = /^RssAnon:\s+(\d+) kB$/m.exec(text);
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** True while /proc/<pid> exists (a zombie still exists: it is not reaped yet). */
export function exists(pid) {
  return readStat(pid) !== null;
}

/** Direct children of every thread of `pid` (needs CONFIG_PROC_CHILDREN). */
export function children(pid) {
  const out = [];
  let tasks;
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    let text;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, "latin1");
    } catch {
      continue;
    }
    for (const p of text.split(" ")) if (p !== "" && p !== "\n") out.push(Number(p));
  }
  return out;
}

/** Children of the main thread only: cheap enough for a busy loop (spawns come from it). */
export function mainThreadChildren(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/task/${pid}/children`, "latin1");
  } catch {
    return [];
  }
  const out = [];
  for (const p of text.split(" ")) if (p !== "" && p !== "\n") out.push(Number(p));
  return out;
}

/** Live (non-zombie) children of `parent` that run `comm`. */
export function runningChildren(parent, comm) {
  const out = [];
  for (const pid of children(parent)) {
    const s = readStat(pid);
    if (s !== null && s.comm === comm && s.state !== "Z") out.push(pid);
  }
  return out;
}

/** Every descendant of `pid` (depth first), excluding `pid` itself. */
export function descendants(pid) {
  const out = [];
  const stack = children(pid);
  while (stack.length > 0) {
    const p = /** @type {number} */ (stack.pop());
    out.push(p);
    stack.push(...children(p));
  }
  return out;
}

/** Pids of every process whose initial environment holds `KEY=value` (needs root or same uid). */
export function pidsWithEnv(key, value) {
  const needle = Buffer.from(`\0${key}=${value}\0`);
  const first = Buffer.from(`${key}=${value}\0`);
  const out = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let env;
    try {
      env = readFileSync(`/proc/${pid}/environ`);
    } catch {
      continue;
    }
    if (env.includes(needle) || env.subarray(0, first.length).equals(first)) out.push(pid);
  }
  return out;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Monotonic milliseconds (fractional). */
export const now = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Poll `check` every `intervalMs` until it returns a truthy value; rejects after `timeoutMs`
 * with `what` in the message.
 */
export async function waitFor(check, { timeoutMs, intervalMs = 2, what }) {
  const deadline = now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
