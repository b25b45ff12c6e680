/**
 * A process's cgroup: `<base>/<name>.proc` in every hierarchy of the layout (cgroup-host.ts),
 * made before each start with the process's limits written, entered by the child before its
 * program runs (the launcher's prelude), and removed when the run is over and it is empty.
 *
 * Everything here is a read or a write of a cgroup file; the cost of a read does not grow with
 * the number of processes in the tree (cpu.stat, memory.current, pids.current), except the
 * member list itself, which only a stop or `usage` reads.
 */
import { readdirSync, rmdirSync, watch, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ProcessConfig, ResourceLimits } from "@procmgr/config";
import { formatBytes } from "@procmgr/platform";
import {
  type CgroupLayout,
  type CgroupSetup,
  enforcedBy,
  ensureDir,
  type Hierarchy,
  type LimitKind,
  limitFile,
  limitKinds,
  readText,
  setUpCgroups,
} from "./cgroup-host.js";
import { membersUsage, readProcStat } from "./proc-fs.js";
import type { Enforcement, ResourceUsage } from "./types.js";

/** A `key value` line of a flat keyed file (cpu.stat, memory.events, memory.stat). */
function keyed(text: string | undefined, key: string): number | undefined {
  const m = new RegExp(`^${key} (\\d+)$`, "m").exec(text ?? "");
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

function number(text: string | undefined): number | undefined {
  const n = Number((text ?? "").trim());
  return text === undefined || !Number.isFinite(n) ? undefined : n;
}

/** "64 MiB", not "64.0 MiB", for the OOM reason. */
function bytesText(n: number): string {
  return formatBytes(n).replace(/\.0 /, " ");
}

/** cfs period: 100 ms, as systemd's CPUQuota= uses. */
const cpuPeriodUs = 100_000;

/** A process's `kind` limit as configured (cores for cpu), undefined when it has none. */
function limitValue(limits: ResourceLimits | undefined, kind: LimitKind): number | undefined {
  return kind === "memory" ? limits?.memoryBytes : kind === "cpu" ? limits?.cpu : limits?.pids;
}

/**
 * The files and values of one limit in one hierarchy (`limitFile`'s, and the v1 cpu period
 * before its quota), "max" or -1 for none.
 */
function limitWrites(
  h: Hierarchy,
  kind: LimitKind,
  limits: ResourceLimits | undefined,
): [string, string][] {
  const v = limitValue(limits, kind);
  const file = limitFile(h, kind);
  const none = h.version === 2 || kind === "pids" ? "max" : "-1";
  if (kind !== "cpu") return [[file, v === undefined ? none : String(v)]];
  const quota = v === undefined ? none : String(Math.max(1000, Math.round(v * cpuPeriodUs)));
  return h.version === 2
    ? [[file, `${quota} ${cpuPeriodUs}`]]
    : [
        ["cpu.cfs_period_us", String(cpuPeriodUs)],
        [file, quota],
      ];
}

/** A process's cgroup is named after it: `<name>.proc`. */
const procSuffix = ".proc";
/** A control process's (control-processes.ts): `<name>.<daemon pid>-<n>.control`. */
const controlSuffix = ".control";
/** Control cgroups made by this node process so far (their names are unique in the subtree). */
let controlCount = 0;

/** The layout of a control cgroup: the tracking hierarchy only, without limits. */
function trackingOnly(layout: CgroupLayout): CgroupLayout {
  return { ...layout, hierarchies: [layout.tracker], limits: {} };
}

export class ProcessCgroup {
  /** The cgroup in the tracking hierarchy. */
  readonly path: string;
  private readonly layout: CgroupLayout;
  private readonly dirOf: (h: Hierarchy) => string;

  /** The cgroup `dirName` (`<name>.proc`) under the base of each hierarchy of `layout`. */
  constructor(layout: CgroupLayout, dirName: string) {
    this.layout = layout;
    this.dirOf = (h) => join(h.base, dirName);
    this.path = this.dirOf(layout.tracker);
  }

  /** Makes the cgroup (an existing one is kept: remnants of a kill_mode process run) and sets the limits. */
  create(limits: ResourceLimits | undefined): void {
    for (const h of this.layout.hierarchies) {
      try {
        // mkdir, not recursive: the base must exist, we never create anything above it.
        ensureDir(this.dirOf(h));
      } catch (e) {
        throw new Error(`cannot create cgroup ${this.dirOf(h)}: ${(e as Error).message}`);
      }
    }
    this.setLimits(limits);
  }

  /** Writes every limit (an absent one as "no limit"); throws naming the file that refused. */
  setLimits(limits: ResourceLimits | undefined): void {
    for (const kind of limitKinds) {
      const h = this.layout.limits[kind];
      if (h === undefined) continue;
      for (const [file, value] of limitWrites(h, kind, limits)) {
        const path = join(this.dirOf(h), file);
        try {
          writeFileSync(path, value);
        } catch (e) {
          throw new Error(
            `cannot set ${path} to ${value}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          );
        }
      }
    }
  }

  /** The cgroup.procs files a child writes its pid to, before it execs its program. */
  procsFiles(): string[] {
    return this.layout.hierarchies.map((h) => join(this.dirOf(h), "cgroup.procs"));
  }

  /** The pids in the cgroup now. */
  members(): number[] {
    const text = readText(join(this.path, "cgroup.procs")) ?? "";
    return text
      .split("\n")
      .filter((l) => l !== "")
      .map(Number);
  }

  /**
   * `signal` once to each member not in `done`, again for those that appeared meanwhile (a fork
   * racing the signal), until a pass finds none new, at most 10 passes (as systemd does).
   */
  signalEach(signal: (pid: number) => void, done: Set<number>): void {
    for (let pass = 0; pass < 10; pass++) {
      const fresh = this.members().filter((pid) => !done.has(pid));
      if (fresh.length === 0) return;
      for (const pid of fresh) {
        done.add(pid);
        signal(pid);
      }
    }
  }

  /** Whether `cgroup.kill` kills the whole cgroup at once (cgroup2, Linux 5.14+). */
  private canKillAll(): boolean {
    if (this.layout.tracker.version !== 2) return false;
    try {
      writeFileSync(join(this.path, "cgroup.kill"), "1");
      return true;
    } catch {
      return false;
    }
  }

  /**
   * SIGKILL to every member: `cgroup.kill` where the kernel has it, else each member by pid
   * (`signal`, which sends SIGKILL) as `signalEach` does.
   */
  killAll(signal: (pid: number) => void): void {
    if (!this.canKillAll()) this.signalEach(signal, new Set());
  }

  /** Resolves once no process is left in the cgroup (cgroup.events; polled on cgroup v1). */
  whenEmpty(): Promise<void> {
    const events = join(this.path, "cgroup.events");
    const empty = (): boolean => {
      const text = readText(events);
      return text === undefined ? this.members().length === 0 : keyed(text, "populated") === 0;
    };
    return new Promise((done) => {
      if (empty()) return done();
      if (this.layout.tracker.version === 1) {
        const timer = setInterval(() => {
          if (!empty()) return;
          clearInterval(timer);
          done();
        }, 50);
        return;
      }
      const watcher = watch(events, () => {
        if (!empty()) return;
        watcher.close();
        done();
      });
      watcher.on("error", () => {
        watcher.close();
        done();
      });
      // It may have emptied between the first look and the watch.
      if (empty()) {
        watcher.close();
        done();
      }
    });
  }

  /** OOM kills in the cgroup so far (memory.events / memory.oom_control); 0 without a memory controller. */
  oomKills(): number {
    const h = this.layout.limits.memory;
    if (h === undefined) return 0;
    const file = h.version === 2 ? "memory.events" : "memory.oom_control";
    return keyed(readText(join(this.dirOf(h), file)), "oom_kill") ?? 0;
  }

  /** Why a run ended when the OOM killer killed in it since `before` oom kills. */
  oomReason(before: number, limits: ResourceLimits | undefined): string | undefined {
    if (this.oomKills() <= before) return undefined;
    const limit = limits?.memoryBytes;
    return `killed by the OOM killer${limit === undefined ? "" : `: memory limit ${bytesText(limit)}`}`;
  }

  /**
   * CPU seconds and charged memory of the whole tree: one read each (cpu.stat or cpuacct.usage,
   * memory.current or memory.usage_in_bytes); undefined where no controller counts them.
   */
  brief(): { cpuSeconds?: number; memoryBytes?: number } {
    const { cpuTime, limits } = this.layout;
    const out: { cpuSeconds?: number; memoryBytes?: number } = {};
    if (cpuTime !== undefined) {
      const dir = this.dirOf(cpuTime);
      const seconds =
        cpuTime.version === 2
          ? (keyed(readText(join(dir, "cpu.stat")), "usage_usec") ?? 0) / 1e6
          : (number(readText(join(dir, "cpuacct.usage"))) ?? 0) / 1e9;
      out.cpuSeconds = seconds;
    }
    const memory = limits.memory;
    if (memory !== undefined) {
      const file = memory.version === 2 ? "memory.current" : "memory.usage_in_bytes";
      const current = number(readText(join(this.dirOf(memory), file)));
      if (current !== undefined) out.memoryBytes = current;
    }
    return out;
  }

  /** The whole tree's usage, from the cgroup's files (from /proc for what no controller counts). */
  usage(): Omit<ResourceUsage, "pid"> {
    const pids = this.members();
    const { tracker, limits } = this.layout;
    const threadsFile = tracker.version === 2 ? "cgroup.threads" : "tasks";
    const threads = (readText(join(this.path, threadsFile)) ?? "")
      .split("\n")
      .filter((l) => l !== "");
    const { cpuSeconds, memoryBytes } = this.brief();
    const procs =
      cpuSeconds === undefined || limits.memory === undefined
        ? membersUsage(pids.flatMap((p) => readProcStat(p) ?? []))
        : undefined;
    const base = {
      source: "cgroup" as const,
      processCount: pids.length,
      cpuSeconds: cpuSeconds ?? procs?.cpuSeconds ?? 0,
      threads: threads.length,
    };
    const memory = limits.memory;
    if (memory === undefined) return { ...base, rssBytes: procs?.rssBytes ?? 0 };
    const dir = this.dirOf(memory);
    const v2 = memory.version === 2;
    const stat = readText(join(dir, "memory.stat"));
    const peak = number(readText(join(dir, v2 ? "memory.peak" : "memory.max_usage_in_bytes")));
    return {
      ...base,
      rssBytes: keyed(stat, v2 ? "anon" : "total_rss") ?? 0,
      ...(memoryBytes !== undefined ? { memoryBytes } : {}),
      ...(peak !== undefined ? { memoryPeakBytes: peak } : {}),
    };
  }

  /** Removes the cgroup from every hierarchy; false when something still runs in it. */
  remove(): boolean {
    let all = true;
    for (const h of [...this.layout.hierarchies].reverse()) {
      try {
        rmdirSync(this.dirOf(h));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "ENOENT") all = false;
      }
    }
    return all;
  }
}

/**
 * The supervisor's cgroups: the setup (detected at the first `open`, once), a `ProcessCgroup` per
 * start, what `describe` says of each process, the cgroups a crashed supervisor left, and the
 * subtree's removal at shutdown.
 */
export class Cgroups {
  private readonly enabled: boolean;
  private readonly key: string;
  private setup: Promise<CgroupSetup> | undefined;
  private settled: CgroupSetup | undefined;

  /** `key` names the subtree where it is not a delegated service's (see cgroup-host.ts). */
  constructor(enabled: boolean, key: string) {
    this.enabled = enabled;
    this.key = key;
  }

  /** The setup: detected (and the subtree made) at the first call. */
  open(): Promise<CgroupSetup> {
    this.setup ??= (
      this.enabled
        ? setUpCgroups(this.key)
        : Promise.resolve({ layout: undefined, summary: "process groups: cgroups turned off" })
    ).then((s) => {
      this.settled = s;
      return s;
    });
    return this.setup;
  }

  /** The cgroup of process `name` (not created yet); undefined without cgroups. */
  forProcess(name: string): ProcessCgroup | undefined {
    const layout = this.settled?.layout;
    return layout === undefined ? undefined : new ProcessCgroup(layout, `${name}${procSuffix}`);
  }

  /**
   * A new cgroup for one control process of process `name` (not created yet), named uniquely:
   * in the tracking hierarchy only, without limits; undefined without cgroups.
   */
  forControl(name: string): ProcessCgroup | undefined {
    const layout = this.settled?.layout;
    if (layout === undefined) return undefined;
    return new ProcessCgroup(
      trackingOnly(layout),
      `${name}.${process.pid}-${++controlCount}${controlSuffix}`,
    );
  }

  /**
   * How `config` is tracked and limited: by `cgroup` when the run has one, else by its process
   * group for `problem` (or the host's reason).
   */
  enforcement(
    config: Pick<ProcessConfig, "resourceLimits">,
    cgroup: ProcessCgroup | undefined,
    problem: string | undefined,
  ): Enforcement {
    const setup = this.settled;
    const layout = problem === undefined ? setup?.layout : undefined;
    const tracking =
      setup === undefined
        ? "not yet known (cgroups being detected)"
        : layout === undefined
          ? problem === undefined
            ? setup.summary
            : `process group: ${problem}`
          : `cgroup v${layout.tracker.version}`;
    const out: { -readonly [K in keyof Enforcement]: Enforcement[K] } = { tracking };
    if (cgroup !== undefined && layout !== undefined) out.cgroup = cgroup.path;
    for (const kind of limitKinds) {
      if (limitValue(config.resourceLimits, kind) === undefined) continue;
      const h = layout?.limits[kind];
      out[kind] =
        h !== undefined
          ? enforcedBy(h, kind)
          : `not enforced: ${layout?.missing[kind] ?? problem ?? setup?.summary ?? "cgroups being detected"}`;
    }
    return out;
  }

  /** The limits of `config` that cannot be enforced here, each with why (a warning at load and create). */
  unenforced(config: Pick<ProcessConfig, "name" | "resourceLimits">): string | undefined {
    const e = this.enforcement(config, undefined, undefined);
    const not = limitKinds.filter((k) => e[k]?.startsWith("not enforced"));
    if (not.length === 0) return undefined;
    return `process "${config.name}": resource_limits ${not.join(", ")} ${e[not[0] ?? "memory"]}`;
  }

  /** The process cgroups under the subtree (left by a crashed supervisor, or ours), by process name. */
  existing(): Map<string, ProcessCgroup> {
    const layout = this.settled?.layout;
    const out = new Map<string, ProcessCgroup>();
    if (layout === undefined) return out;
    for (const e of this.entries(procSuffix)) {
      out.set(e.slice(0, -procSuffix.length), new ProcessCgroup(layout, e));
    }
    return out;
  }

  /** The control cgroups under the subtree (left by a crashed supervisor, or ours), with their process's name. */
  controls(): { name: string; cgroup: ProcessCgroup }[] {
    const layout = this.settled?.layout;
    if (layout === undefined) return [];
    return this.entries(controlSuffix).map((e) => ({
      name: e.slice(0, -controlSuffix.length).replace(/\.\d+-\d+$/, ""),
      cgroup: new ProcessCgroup(trackingOnly(layout), e),
    }));
  }

  /** The cgroups in the tracking hierarchy's base whose names end in `suffix`. */
  private entries(suffix: string): string[] {
    const layout = this.settled?.layout;
    if (layout === undefined) return [];
    try {
      return readdirSync(layout.tracker.base).filter((e) => e.endsWith(suffix));
    } catch {
      return [];
    }
  }

  /** Removes the subtree's bases we created (once every process cgroup is gone). */
  close(): void {
    const layout = this.settled?.layout;
    if (layout === undefined) return;
    for (const cgroup of this.existing().values()) cgroup.remove();
    for (const { cgroup } of this.controls()) cgroup.remove();
    for (const h of layout.hierarchies) {
      if (!h.ownBase) continue;
      try {
        rmdirSync(h.base);
      } catch {
        // Something still runs in it (kill_mode process remnants): kept, found again at recover.
      }
    }
  }
}
