/**
 * Who a child runs as: NSS-aware lookups through `getent` (@procmgr/platform), and the `setpriv`
 * wrapper that switches uid/gid/supplementary groups and capabilities before exec'ing the command.
 */
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import {
  lookupGroup as groupEntry,
  type PasswdEntry,
  lookupUser as passwdEntry,
  supplementaryGroupIds,
} from "@procmgr/platform";

export interface Identity {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups, as login would set them (primary included). */
  readonly groups: readonly number[];
  readonly home: string;
  readonly shell: string;
}

export class IdentityLookupError extends Error {
  override readonly name = "IdentityLookupError";
}

const numeric = /^\d+$/;

/** A user by name or uid (a uid without an entry runs as that uid, its gid the same number). */
export async function lookupUser(nameOrId: string): Promise<PasswdEntry | undefined> {
  const entry = await passwdEntry(nameOrId);
  if (entry === undefined) {
    if (numeric.test(nameOrId)) {
      const uid = Number(nameOrId);
      return { name: nameOrId, uid, gid: uid, home: "/", shell: "/bin/sh" };
    }
    return undefined;
  }
  return { ...entry, home: entry.home || "/", shell: entry.shell || "/bin/sh" };
}

/** A group id by name or gid (a gid without an entry is used as it is). */
export async function lookupGroup(nameOrId: string): Promise<number | undefined> {
  const entry = await groupEntry(nameOrId);
  if (entry === undefined) return numeric.test(nameOrId) ? Number(nameOrId) : undefined;
  return entry.gid;
}

/** Resolve `user`/`group` of a process config into a full identity. */
export async function resolveIdentity(
  user: string | undefined,
  group: string | undefined,
  self: Identity,
): Promise<Identity> {
  let base: Identity = self;
  if (user !== undefined) {
    const entry = await lookupUser(user);
    if (!entry) throw new IdentityLookupError(`unknown user "${user}"`);
    const extra =
      numeric.test(user) && entry.name === user ? [] : await supplementaryGroupIds(entry.name);
    base = {
      user: entry.name,
      uid: entry.uid,
      gid: entry.gid,
      groups: [],
      home: entry.home,
      shell: entry.shell,
    };
    base = { ...base, groups: uniq([entry.gid, ...extra]) };
  }
  if (group !== undefined) {
    const gid = await lookupGroup(group);
    if (gid === undefined) throw new IdentityLookupError(`unknown group "${group}"`);
    base = {
      ...base,
      gid,
      groups: user !== undefined ? uniq([gid, ...base.groups]) : [gid],
    };
  }
  return base;
}

function uniq(ids: readonly number[]): number[] {
  return [...new Set(ids)];
}

/** The daemon's own identity (getpwuid via NSS) and its effective capabilities. */
export interface DaemonIdentity {
  readonly identity: Identity;
  readonly capEff: bigint;
  /** Ambient capabilities: what a child that execs `setpriv` keeps. */
  readonly capAmb: bigint;
}

export function daemonIdentity(): DaemonIdentity {
  const info = userInfo();
  const uid = process.getuid?.() ?? info.uid;
  const gid = process.getgid?.() ?? info.gid;
  const groups = process.getgroups?.() ?? [gid];
  let capEff = 0n;
  let capAmb = 0n;
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
    if (eff?.[1]) capEff = BigInt(`0x${eff[1]}`);
    const amb = /^CapAmb:\s*([0-9a-f]+)$/m.exec(status);
    if (amb?.[1]) capAmb = BigInt(`0x${amb[1]}`);
  } catch {
    capEff = 0n;
    capAmb = 0n;
  }
  return {
    identity: {
      user: info.username,
      uid,
      gid,
      groups,
      home: info.homedir,
      shell: info.shell ?? "/bin/sh",
    },
    capEff,
    capAmb,
  };
}

const CAP_SETGID = 6n;
const CAP_SETUID = 7n;

export function hasCap(capEff: bigint, bit: bigint): boolean {
  return (capEff & (1n << bit)) !== 0n;
}

/** setpriv capability names: lower case, no `cap_` prefix. */
function capName(cap: string): string {
  return cap.toLowerCase().replace(/^cap_/, "");
}

/** What to spawn: the argv, and the uid/gid for Node's own spawn options when set. */
export interface LaunchPlan {
  readonly argv: string[];
  readonly uid?: number;
  readonly gid?: number;
}

/**
 * How to exec a command as `target`: the command itself, or `setpriv ... -- command` when the
 * identity or the capabilities must change. A non-root daemon whose CAP_SETUID/CAP_SETGID come
 * from file capabilities (`setcap` on the binary) has no ambient capabilities, so an exec'd
 * `setpriv` would hold none: then the switch happens in the forked child through Node's uid/gid
 * spawn options (libuv: setgroups(0), setgid, setuid, exec), which cannot set supplementary
 * groups and drops every capability at exec. Throws IdentityLookupError when the daemon cannot
 * switch at all.
 */
export function planLaunch(
  argv: readonly string[],
  target: Identity,
  daemon: DaemonIdentity,
  options: { switchUser: boolean; ambientCapabilities: readonly string[] },
): LaunchPlan {
  const self = daemon.identity;
  const isRoot = self.uid === 0;
  const changesIds =
    options.switchUser &&
    (target.uid !== self.uid ||
      target.gid !== self.gid ||
      target.groups.join(",") !== [...self.groups].join(","));
  const hasCaps = daemon.capEff !== 0n;
  // Root keeps root's capabilities (it is root); a non-root daemon holding capabilities must
  // not pass them on, unless the process asks for ambient capabilities.
  const dropCaps = changesIds || (!isRoot && hasCaps);
  const ambient = options.ambientCapabilities.map(capName);
  if (!changesIds && !dropCaps && ambient.length === 0) return { argv: [...argv] };
  if (
    changesIds &&
    !isRoot &&
    !(hasCap(daemon.capEff, CAP_SETUID) && hasCap(daemon.capEff, CAP_SETGID))
  ) {
    throw new IdentityLookupError(
      `cannot run as user "${target.user}" (uid ${target.uid}): the daemon (uid ${self.uid}) lacks CAP_SETUID/CAP_SETGID`,
    );
  }
  const setidInherited = hasCap(daemon.capAmb, CAP_SETUID) && hasCap(daemon.capAmb, CAP_SETGID);
  if (changesIds && !isRoot && !setidInherited) {
    return { argv: [...argv], uid: target.uid, gid: target.gid };
  }
  const out = ["setpriv"];
  if (changesIds) {
    out.push(`--reuid=${target.uid}`, `--regid=${target.gid}`);
    out.push(target.groups.length > 0 ? `--groups=${target.groups.join(",")}` : "--clear-groups");
  }
  if (dropCaps || ambient.length > 0) {
    const raise = ambient.map((c) => `+${c}`).join(",");
    out.push(
      `--inh-caps=-all${raise ? `,${raise}` : ""}`,
      `--ambient-caps=-all${raise ? `,${raise}` : ""}`,
    );
  }
  out.push("--", ...argv);
  return { argv: out };
}
