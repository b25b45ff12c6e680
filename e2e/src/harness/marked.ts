/**
 * Processes told apart by a marker in their environment: each process a test defines carries
 * `PMFAULT=<token>:<name>`, and every process it starts inherits it (setsid'd ones included), so
 * /proc says which defined process, and which test run, each live process belongs to. What a
 * test counts (instances, orphans, leftovers) and what it kills when it cleans up are found this
 * way, by pid, and the cgroup dirs of a daemon by their name.
 */
import { randomBytes } from "node:crypto";
import { type Dirent, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { basename, join } from "node:path";

export const markerKey = "PMFAULT";

const tokens = new Set<string>();
const bases = new Set<string>();

// Last resort, as daemon.ts SIGKILLs its daemons when the test process exits (a run cut short):
// whatever carries a marker of ours goes too (a daemon's SIGKILL leaves its processes running),
// then the cgroups of the daemons seen, once the kernel has reaped what was in them (and the
// daemons are gone: one in its start-up could make its base again).
process.once("exit", () => {
  if (tokens.size === 0 && bases.size === 0) return;
  for (const token of tokens) killMarked(token);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
  for (const base of bases) removeCgroupBase(base);
});

/** A token that tells this run's processes from every other run's. */
export function markerToken(): string {
  const token = randomBytes(6).toString("hex");
  tokens.add(token);
  return token;
}

/** The environment entry that marks the processes of `name`. */
export function marker(token: string, name: string): Record<string, string> {
  return { [markerKey]: `${token}:${name}` };
}

/** A live (not zombie) process carrying the marker of `token`. */
export interface MarkedProcess {
  readonly pid: number;
  /** The defined process it belongs to (the marker's name). */
  readonly name: string;
  readonly ppid: number;
  /** Field 22 of /proc/PID/stat: clock ticks since boot. */
  readonly startTime: number;
  /** Its cgroup2 path (the `0::` line of /proc/PID/cgroup), "" on a host without one. */
  readonly cgroup: string;
}

/** Field `n` (1-based, as in proc(5)) of /proc/PID/stat. */
export function statField(pid: number, n: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[n - 3];
  } catch {
    return undefined;
  }
}

/** Every live process marked with `token`, in pid order. */
export function markedProcesses(token: string): MarkedProcess[] {
  const prefix = `${markerKey}=${token}:`;
  const out: MarkedProcess[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    let environ: string;
    let stat: string[];
    let cgroup: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, "latin1");
      if (!environ.includes(prefix)) continue;
      const text = readFileSync(`/proc/${pid}/stat`, "utf8");
      stat = text.slice(text.lastIndexOf(")") + 2).split(" ");
      cgroup = /^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, "utf8"))?.[1] ?? "";
    } catch {
      continue; // gone meanwhile
    }
    if (stat[0] === "Z") continue;
    const name = environ
      .split("\0")
      .find((e) => e.startsWith(prefix))
      ?.slice(prefix.length);
    if (name === undefined) continue;
    out.push({ pid, name, ppid: Number(stat[1]), startTime: Number(stat[19]), cgroup });
  }
  return out;
}

/**
 * The instances of each name: its marked processes whose parent is not marked with the same
 * name (the process the daemon started; a child whose parent died is one more).
 */
export function instances(marked: readonly MarkedProcess[]): Map<string, MarkedProcess[]> {
  const byPid = new Map(marked.map((p) => [p.pid, p]));
  const out = new Map<string, MarkedProcess[]>();
  for (const p of marked) {
    if (byPid.get(p.ppid)?.name === p.name) continue;
    out.set(p.name, [...(out.get(p.name) ?? []), p]);
  }
  return out;
}

/**
 * Duplicates that hold: a scan sees two instances of a name, and one `delayMs` later the same
 * pids are still instances of it. A single scan can see a false one: /proc is read one process
 * at a time, and the child of a process stopped between the two reads is reparented (an
 * instance of its own) for the moment its own signal takes to end it.
 */
export async function confirmedDuplicates(
  token: string,
  delayMs = 200,
): Promise<{ count: number; seen: string }> {
  const first = instances(markedProcesses(token));
  if (![...first.values()].some((l) => l.length > 1)) return { count: 0, seen: "" };
  await new Promise((r) => setTimeout(r, delayMs));
  const again = instances(markedProcesses(token));
  const key = (p: MarkedProcess) => `${p.pid}@${p.startTime}`;
  let count = 0;
  const seen: string[] = [];
  for (const [name, list] of first) {
    const still = new Set((again.get(name) ?? []).map(key));
    const held = list.filter((p) => still.has(key(p)));
    if (held.length < 2) continue;
    count += held.length - 1;
    seen.push(`${name}: ${held.map((p) => `${p.pid} (parent ${p.ppid})`).join(", ")}`);
  }
  return { count, seen: seen.join("; ") };
}

/** SIGKILLs every live process marked with `token`, by pid; answers how many there were. */
export function killMarked(token: string): number {
  const found = markedProcesses(token);
  for (const p of found) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  return found.length;
}

/** Cgroup directories named `name` anywhere in the mounted hierarchies (3 levels deep). */
export function cgroupDirsNamed(name: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const path = join(dir, e.name);
      if (e.name === name) found.push(path);
      else if (depth > 0) walk(path, depth - 1);
    }
  };
  walk("/sys/fs/cgroup", 3);
  return found;
}

/** The base of a daemon's process cgroups, from its startup line ("" without cgroups). */
export function cgroupBase(daemonOutput: string): string {
  const base = /cgroups active cgroups="?cgroup v\d at (\S+?);/.exec(daemonOutput)?.[1] ?? "";
  if (base !== "") bases.add(base);
  return base;
}

/**
 * Removes the (empty) cgroups a daemon with this base left, in every hierarchy: its process
 * cgroups (`*.proc`) and those of its hooks and checks (`*.control`), then the base. Answers
 * the dirs that were still there.
 */
export function removeCgroupBase(base: string): string[] {
  if (base === "") return [];
  const left: string[] = [];
  for (const dir of cgroupDirsNamed(basename(base))) {
    left.push(dir);
    let entries: Dirent[] = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      // gone meanwhile
    }
    for (const e of entries) {
      if (!e.isDirectory() || !/\.(proc|control)$/.test(e.name)) continue;
      try {
        rmdirSync(join(dir, e.name));
      } catch {
        // not empty yet
      }
    }
    try {
      rmdirSync(dir);
    } catch {
      // not empty yet
    }
  }
  return left;
}
