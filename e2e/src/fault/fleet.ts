/**
 * The processes the fault scenarios run, each kind a `/bin/sh -c` script with the run's marker
 * in its environment (harness/marked.ts), written as processes.yaml entries or as the
 * `ProcessSpec` of a Create; what the daemon's `list` says held against what /proc says runs;
 * and the clean-up every scenario ends with, even on failure.
 */
import type { ProcessSpec, ProcessStatus } from "@procmgr/rpc";
import { ProcessState, RestartPolicy } from "@procmgr/rpc";
import { type DaemonDirs, removeDaemonDirs, stopAllDaemons } from "../harness/daemon.js";
import {
  instances,
  killMarked,
  type MarkedProcess,
  marker,
  removeCgroupBase,
} from "../harness/marked.js";

/** What a process does. */
export type Kind = "steady" | "forker" | "flapper" | "looper" | "stubborn";

const scripts: Record<Kind, string> = {
  steady: "exec sleep 86400",
  // The setsid'd child leaves the session and group of sh; only the cgroup still holds it.
  forker: "setsid sleep 86400 & wait",
  flapper: "sleep 0.7; exit 1",
  looper: "exit 3",
  // Ignored signals stay ignored across exec: sleep ignores SIGTERM too.
  stubborn: "trap '' TERM; exec sleep 86400",
};

/** The fields every kind sets besides its script. */
function kindFields(kind: Kind): { restartSec: number; timeoutStopSec?: number } {
  if (kind === "looper") return { restartSec: 0.05 };
  if (kind === "flapper") return { restartSec: 0.2 };
  if (kind === "stubborn") return { restartSec: 1, timeoutStopSec: 3 };
  return { restartSec: 0.5 };
}

export interface Def {
  readonly name: string;
  readonly kind: Kind;
  readonly autoStart: boolean;
  /** Extra environment (besides the marker), e.g. a generation an update changes. */
  readonly env?: Readonly<Record<string, string>>;
  /** More fields of its processes.yaml entry (`    key: value` lines; config processes only). */
  readonly yaml?: readonly string[];
}

/** A processes.yaml entry (indented for `processes:`). */
export function yamlEntry(token: string, def: Def): string {
  const f = kindFields(def.kind);
  const env = { ...def.env, ...marker(token, def.name) };
  return [
    `  ${def.name}:`,
    "    command: /bin/sh",
    `    args: ["-c", ${JSON.stringify(scripts[def.kind])}]`,
    `    env: ${JSON.stringify(env)}`,
    `    auto_start: ${def.autoStart}`,
    "    restart: always",
    `    restart_sec: ${f.restartSec}`,
    ...(f.timeoutStopSec === undefined ? [] : [`    timeout_stop_sec: ${f.timeoutStopSec}`]),
    "    start_limit_interval_sec: 0",
    ...(def.yaml ?? []),
    "",
  ].join("\n");
}

/** A whole processes.yaml. */
export function configText(token: string, defs: readonly Def[]): string {
  return ["processes:", ...defs.map((d) => yamlEntry(token, d))].join("\n");
}

/** The spec of a Create (restart always, no start limit). */
export function specOf(token: string, def: Def): Partial<ProcessSpec> {
  const f = kindFields(def.kind);
  return {
    name: def.name,
    command: "/bin/sh",
    args: ["-c", scripts[def.kind]],
    env: { ...def.env, ...marker(token, def.name) },
    autoStart: def.autoStart,
    restart: RestartPolicy.ALWAYS,
    restartSec: f.restartSec,
    ...(f.timeoutStopSec === undefined ? {} : { timeoutStopSec: f.timeoutStopSec }),
    startLimitIntervalSec: 0,
  };
}

/** The spec fields a restart must keep, in one comparable string. */
export function specKey(spec: Partial<ProcessSpec>): string {
  const env = Object.entries(spec.env ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([
    spec.command,
    spec.args,
    env,
    spec.autoStart,
    spec.restart,
    spec.restartSec,
    spec.startLimitIntervalSec,
  ]);
}

/** What one comparison of `list` with /proc found. */
export interface Mismatch {
  /** Instances beyond one per name. */
  readonly duplicates: number;
  /** Live marked processes no listed running process accounts for. */
  readonly strays: readonly MarkedProcess[];
  /** Sentences: a running state without its live pid, a listed pid that is not its process. */
  readonly lost: readonly string[];
}

/**
 * `list` against /proc: each RUNNING process's pid is the one live instance of its name; a
 * process in another state has none; every marked process belongs to a listed RUNNING (or
 * STOPPING, STARTING) process of its name.
 */
export function compareWithList(
  list: readonly ProcessStatus[],
  marked: readonly MarkedProcess[],
): Mismatch {
  const byName = instances(marked);
  const listed = new Map(list.map((p) => [p.name, p]));
  let duplicates = 0;
  const lost: string[] = [];
  for (const found of byName.values()) duplicates += Math.max(0, found.length - 1);
  for (const p of list) {
    const found = byName.get(p.name) ?? [];
    if (p.state === ProcessState.RUNNING) {
      if (!found.some((f) => f.pid === p.pid))
        lost.push(`${p.name} is running as pid ${p.pid}, which is not alive as its process`);
    } else if (p.state !== ProcessState.STOPPING && p.state !== ProcessState.STARTING) {
      if (found.length > 0)
        lost.push(`${p.name} is ${ProcessState[p.state]} but pid ${found[0]?.pid} runs as it`);
    }
  }
  const live = (p: MarkedProcess): boolean => {
    const l = listed.get(p.name);
    return (
      l !== undefined &&
      (l.state === ProcessState.RUNNING ||
        l.state === ProcessState.STOPPING ||
        l.state === ProcessState.STARTING)
    );
  };
  return { duplicates, strays: marked.filter((p) => !live(p)), lost };
}

/**
 * The end of every scenario, failed or not: every daemon stopped (SIGTERM, then SIGKILL after
 * 30 s), every process of the run's marker still alive killed by pid, the daemon's cgroups
 * removed, its dirs removed. Answers how many marked processes were left.
 */
export async function cleanUp(
  token: string,
  dirs: DaemonDirs | undefined,
  cgroupBase: string,
): Promise<number> {
  await stopAllDaemons();
  const left = killMarked(token);
  if (left > 0) await new Promise((r) => setTimeout(r, 200));
  removeCgroupBase(cgroupBase);
  if (dirs !== undefined) await removeDaemonDirs(dirs);
  return left;
}
