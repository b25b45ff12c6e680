/**
 * What cgroups the host offers the supervisor, and the subtree it makes there (detected once per
 * supervisor, `setUpCgroups`).
 *
 * - The hierarchies: the cgroup2 tree (all of /sys/fs/cgroup on a pure v2 host, /sys/fs/cgroup/
 *   unified on a hybrid one) and the cgroup v1 hierarchies of the controllers we use (memory,
 *   cpu, cpuacct, pids), from /proc/self/mountinfo; the supervisor's own cgroup in each, from
 *   /proc/self/cgroup.
 * - Where the subtree goes. Under systemd with `Delegate=yes` (systemd marks the service's cgroup
 *   with the `trusted.delegate` extended attribute): inside the service's own cgroup, which then
 *   holds `daemon/` (the daemon moves itself there: cgroup v2 lets no cgroup with processes
 *   hand controllers to its children) and `processes/`. Under systemd without delegation: none
 *   (systemd owns its tree; we fall back to process groups and say why). Elsewhere (no systemd,
 *   a container, a shell): `procmgr-<key>` beside the supervisor's own cgroup (in the root when
 *   it is the root), created and removed by us; `<key>` comes from the state directory, so a
 *   restarted daemon finds the cgroups its crashed predecessor left.
 * - Which hierarchy tracks processes (cgroup2 when mounted: cgroup.events and cgroup.kill) and
 *   which enforces each limit: a cgroup2 controller enabled for our subtree, else the controller's
 *   v1 hierarchy, else none (said per limit in `describe`).
 */
import { accessSync, constants, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { readXattr } from "@procmgr/platform";

export type LimitKind = "memory" | "cpu" | "pids";
export const limitKinds: readonly LimitKind[] = ["memory", "cpu", "pids"];

/** One hierarchy the supervisor places its processes in, and its subtree there. */
export interface Hierarchy {
  readonly version: 1 | 2;
  /** "unified" for cgroup2; the controller's name for v1. */
  readonly name: string;
  /** The supervisor's subtree: each process gets `<base>/<name>.proc`. */
  readonly base: string;
  /** The base is ours to remove at shutdown (not a delegated service's `processes`). */
  readonly ownBase: boolean;
}

export interface CgroupLayout {
  /** Where processes are listed, signalled and waited for. */
  readonly tracker: Hierarchy;
  /** The hierarchy that enforces (and accounts) each limit, where one can. */
  readonly limits: Readonly<Partial<Record<LimitKind, Hierarchy>>>;
  /** Why a limit cannot be enforced. */
  readonly missing: Readonly<Partial<Record<LimitKind, string>>>;
  /** CPU time: cgroup2's cpu.stat (every cgroup2 cgroup has it), or v1 cpuacct. */
  readonly cpuTime: Hierarchy | undefined;
  /** Every hierarchy a process enters, the tracker first. */
  readonly hierarchies: readonly Hierarchy[];
}

export type CgroupSetup =
  | { readonly layout: CgroupLayout; readonly summary: string }
  | { readonly layout: undefined; readonly summary: string };

/** A mounted hierarchy and the supervisor's own cgroup in it. */
interface Mounted {
  readonly version: 1 | 2;
  readonly controllers: readonly string[];
  /** Where the supervisor's own cgroup is (mount point + its path). */
  readonly own: string;
  /** Its path inside the hierarchy ("/" for the root). */
  readonly path: string;
}

const v1Controllers = ["memory", "cpu", "cpuacct", "pids"];

/** "\040" and friends in mountinfo paths. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/**
 * The cgroup hierarchies mounted here and the supervisor's cgroup in each, from the text of
 * /proc/self/mountinfo and /proc/self/cgroup. A hierarchy whose mount does not show our cgroup
 * (a namespace's root elsewhere) is left out.
 */
export function mountedHierarchies(mountinfo: string, selfCgroup: string): Mounted[] {
  const paths = new Map<string, string>(); // "0::" key "" for cgroup2; v1 by each controller
  for (const line of selfCgroup.split("\n")) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, id, list, path] = m as unknown as [string, string, string, string];
    if (id === "0" && list === "") paths.set("", path);
    else for (const c of list.split(",")) paths.set(c, path);
  }
  const out: Mounted[] = [];
  const seen = new Set<string>();
  for (const line of mountinfo.split("\n")) {
    const [left, right] = line.split(" - ");
    if (left === undefined || right === undefined) continue;
    const f = left.split(" ");
    const [fstype, , superOptions = ""] = right.split(" ");
    const root = unescapeMount(f[3] ?? "");
    const point = unescapeMount(f[4] ?? "");
    let key: string;
    let controllers: string[];
    if (fstype === "cgroup2") {
      key = "";
      controllers = [];
    } else if (fstype === "cgroup") {
      controllers = superOptions.split(",").filter((o) => v1Controllers.includes(o));
      if (controllers.length === 0) continue;
      key = controllers[0] ?? "";
    } else {
      continue;
    }
    const path = paths.get(key);
    if (seen.has(key) || path === undefined) continue;
    if (root !== "/" && path !== root && !path.startsWith(`${root}/`)) continue;
    seen.add(key);
    const inside = root === "/" ? path : path.slice(root.length) || "/";
    out.push({
      version: fstype === "cgroup2" ? 2 : 1,
      controllers,
      own: inside === "/" ? point : join(point, inside),
      path,
    });
  }
  return out;
}

/** A file's text, or undefined when it is not there (an older kernel, a removed cgroup). */
export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Whether systemd delegated `dir` to us (`Delegate=yes`): it marks the cgroup with the
 * user.delegate (and trusted.delegate, which only CAP_SYS_ADMIN sees) xattr; a user manager
 * marks nothing but makes the cgroup the user's, which it does only for a delegated unit.
 */
async function isDelegated(dir: string): Promise<boolean> {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0 && statSync(dir, { throwIfNoEntry: false })?.uid === uid) return true;
  try {
    for (const name of ["trusted.delegate", "user.delegate"]) {
      if ((await readXattr(dir, name)) === "1") return true;
    }
  } catch {
    return false; // no FFI here: treated as not delegated
  }
  return false;
}

/** mkdir (never recursive: nothing above a base is ours to create) that accepts an existing directory. */
export function ensureDir(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
}

/** Enables each of `wanted` that `dir` offers for its children; answers those enabled. */
function enableControllers(dir: string, wanted: readonly string[]): string[] {
  const offered = (readText(join(dir, "cgroup.controllers")) ?? "").trim().split(/\s+/);
  const enabled: string[] = [];
  for (const c of wanted) {
    if (!offered.includes(c)) continue;
    try {
      writeFileSync(join(dir, "cgroup.subtree_control"), `+${c}`);
      enabled.push(c);
    } catch {
      // Left out: the limit says it is not enforced through cgroup2.
    }
  }
  return enabled;
}

/** The whole setup is one of: a delegated service, a systemd unit without delegation, free. */
type Placement = { kind: "delegated" } | { kind: "systemd"; unit: string } | { kind: "free" };

async function placement(unified: Mounted | undefined): Promise<Placement> {
  if (unified === undefined) return { kind: "free" };
  const unit = basename(unified.path);
  if (!/\.(service|scope)$/.test(unit)) return { kind: "free" };
  return (await isDelegated(unified.own)) ? { kind: "delegated" } : { kind: "systemd", unit };
}

/**
 * Moves every process of our delegated cgroup (the daemon, whatever it has spawned so far) into
 * `daemon/` and enables the controllers for `processes/`; answers the base and the controllers
 * enabled there.
 */
function setUpDelegated(own: string): { base: string; controllers: string[] } {
  const daemon = join(own, "daemon");
  ensureDir(daemon);
  for (const pid of (readText(join(own, "cgroup.procs")) ?? "").split("\n")) {
    if (pid === "") continue;
    try {
      writeFileSync(join(daemon, "cgroup.procs"), pid);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
    }
  }
  enableControllers(own, limitKinds);
  const base = join(own, "processes");
  ensureDir(base);
  return { base, controllers: enableControllers(base, limitKinds) };
}

/** `procmgr-<key>` beside our own cgroup (in it when it is the hierarchy's root). */
function freeBase(m: Mounted, key: string): string {
  return join(m.path === "/" ? m.own : dirname(m.own), `procmgr-${key}`);
}

/** Whether we may create cgroups under `dir`'s parent (a quick answer before mkdir). */
function writableParent(dir: string): boolean {
  try {
    accessSync(dirname(dir), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The file that holds each limit, by cgroup version. */
const limitFiles: Record<1 | 2, Record<LimitKind, string>> = {
  1: { memory: "memory.limit_in_bytes", cpu: "cpu.cfs_quota_us", pids: "pids.max" },
  2: { memory: "memory.max", cpu: "cpu.max", pids: "pids.max" },
};

/** The file of `h` that holds a `kind` limit. */
export function limitFile(h: Hierarchy, kind: LimitKind): string {
  return limitFiles[h.version][kind];
}

/** How a limit is enforced, as `describe` shows it. */
export function enforcedBy(h: Hierarchy, kind: LimitKind): string {
  return `cgroup v${h.version} ${limitFile(h, kind)}`;
}

/**
 * Detects the host's cgroups and creates the supervisor's subtree (`key` names it where it is
 * not a delegated service's). Answers the layout, or why processes are tracked by their process
 * group only.
 */
export async function setUpCgroups(key: string): Promise<CgroupSetup> {
  const mounted = mountedHierarchies(
    readText("/proc/self/mountinfo") ?? "",
    readText("/proc/self/cgroup") ?? "",
  );
  const unified = mounted.find((m) => m.version === 2);
  const where = await placement(unified);
  if (where.kind === "systemd") {
    return {
      layout: undefined,
      summary: `process groups: ${where.unit} does not delegate its cgroup (Delegate=yes), so no cgroup is created in systemd's tree`,
    };
  }
  const found: Found = {
    hierarchies: [],
    limits: {},
    missing: {},
    cpuTime: undefined,
    problems: [],
  };
  if (unified !== undefined) addUnified(found, unified, where, key);
  for (const m of mounted) if (m.version === 1) addV1(found, m, unified, where, key);
  const { hierarchies, limits, missing, cpuTime, problems } = found;
  const tracker = hierarchies[0];
  if (tracker === undefined) {
    return {
      layout: undefined,
      summary: `process groups: no cgroup hierarchy the daemon may create cgroups in${problems.length > 0 ? ` (${problems.join("; ")})` : ""}`,
    };
  }
  for (const kind of limitKinds) {
    if (limits[kind] === undefined)
      missing[kind] ??= `no ${kind} controller available to the daemon`;
  }
  const used = limitKinds.map((k) => {
    const h = limits[k];
    return h === undefined ? `${k} (not enforced)` : `${k} (v${h.version})`;
  });
  const summary = `cgroup v${tracker.version} at ${tracker.base}; limits: ${used.join(", ")}${where.kind === "delegated" ? "; delegated by systemd" : ""}`;
  return { layout: { tracker, limits, missing, cpuTime, hierarchies }, summary };
}

/** What `setUpCgroups` has found so far. */
interface Found {
  readonly hierarchies: Hierarchy[];
  readonly limits: Partial<Record<LimitKind, Hierarchy>>;
  readonly missing: Partial<Record<LimitKind, string>>;
  cpuTime: Hierarchy | undefined;
  readonly problems: string[];
}

/** The cgroup2 tree: the tracker, CPU time, and the limits whose controllers it hands us. */
function addUnified(found: Found, unified: Mounted, where: Placement, key: string): void {
  try {
    let base: string;
    let controllers: string[];
    if (where.kind === "delegated") {
      ({ base, controllers } = setUpDelegated(unified.own));
    } else {
      base = freeBase(unified, key);
      if (!writableParent(base)) throw new Error(`${dirname(base)} is not writable`);
      ensureDir(base);
      controllers = enableControllers(base, limitKinds);
    }
    const h: Hierarchy = { version: 2, name: "unified", base, ownBase: where.kind !== "delegated" };
    found.hierarchies.push(h);
    found.cpuTime = h;
    for (const c of controllers) found.limits[c as LimitKind] = h;
  } catch (e) {
    found.problems.push(`cgroup2 at ${unified.own}: ${(e as Error).message}`);
  }
}

/**
 * A v1 hierarchy, for the limits (and CPU time) cgroup2 does not give us. Under delegation it
 * is ours only where systemd gave the service a cgroup of its own there.
 */
function addV1(
  found: Found,
  m: Mounted,
  unified: Mounted | undefined,
  where: Placement,
  key: string,
): void {
  const kinds = limitKinds.filter((k) => m.controllers.includes(k) && !found.limits[k]);
  const cpuTime = m.controllers.includes("cpuacct") && found.cpuTime === undefined;
  if (kinds.length === 0 && !cpuTime) return;
  const name = m.controllers.join(",");
  if (where.kind === "delegated" && m.path !== unified?.path) {
    for (const k of kinds)
      found.missing[k] = `the ${name} v1 hierarchy is not delegated to the service`;
    return;
  }
  const base = where.kind === "delegated" ? join(m.own, "processes") : freeBase(m, key);
  try {
    if (!writableParent(base)) throw new Error(`${dirname(base)} is not writable`);
    ensureDir(base);
  } catch (e) {
    found.problems.push(`cgroup v1 ${name}: ${(e as Error).message}`);
    return;
  }
  const h: Hierarchy = { version: 1, name, base, ownBase: where.kind !== "delegated" };
  found.hierarchies.push(h);
  for (const k of kinds) found.limits[k] = h;
  if (cpuTime) found.cpuTime = h;
}
