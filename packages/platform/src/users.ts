/**
 * Users and groups: one `getent` wrapper (so NSS sources such as LDAP count), falling back to
 * `/etc/passwd` and `/etc/group` when getent is not installed.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { PlatformError } from "./errors.js";

/** A `passwd` entry. `home` and `shell` are as recorded (possibly empty). */
export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

/** A `group` entry; `members` are the users listed in it (not those with it as primary group). */
export interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}

/** Where lookups go; the defaults are the real system (tests point them elsewhere). */
export interface UserDatabaseOptions {
  /** The getent executable (default `getent`, found on `$PATH`). */
  readonly getent?: string;
  /** The directory of the `passwd` and `group` files read when getent is missing (`/etc`). */
  readonly etcDir?: string;
}

type Database = "passwd" | "group" | "initgroups";

const numeric = /^\d+$/;
const getentTimeoutMs = 10_000;

/** getent's output for `key`, `undefined` when not found, `"no-getent"` when not installed. */
function runGetent(
  db: Database,
  key: string,
  options: UserDatabaseOptions,
): Promise<string | undefined | "no-getent"> {
  const file = options.getent ?? "getent";
  return new Promise((resolve, reject) => {
    execFile(file, [db, key], { encoding: "utf8", timeout: getentTimeoutMs }, (error, stdout) => {
      if (error === null) return resolve(stdout);
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return resolve("no-getent");
      // getent exits 2 when the key is not found.
      if ((error as { code?: unknown }).code === 2) return resolve(undefined);
      reject(
        new PlatformError("lookup-failed", `${file} ${db} ${key}: ${error.message}`, {
          cause: error,
        }),
      );
    });
  });
}

/** The lines of `/etc/passwd` or `/etc/group` (the fallback when getent is missing). */
async function localLines(db: "passwd" | "group", options: UserDatabaseOptions): Promise<string[]> {
  const file = join(options.etcDir ?? "/etc", db);
  try {
    return (await readFile(file, "utf8")).split("\n").filter((l) => l !== "" && !l.startsWith("#"));
  } catch (e) {
    throw new PlatformError("lookup-failed", `cannot read ${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** The first entry line of `db` whose name (or, for a number, id) is `key`. */
async function entryLine(
  db: "passwd" | "group",
  key: string,
  options: UserDatabaseOptions,
): Promise<string | undefined> {
  if (key === "") return undefined;
  const out = await runGetent(db, key, options);
  if (out !== "no-getent") {
    const line = out?.split("\n")[0]?.trim();
    return line ? line : undefined;
  }
  return (await localLines(db, options)).find((line) => {
    const fields = line.split(":");
    return fields[0] === key || (numeric.test(key) && fields[2] === key);
  });
}

function idField(db: string, line: string, value: string | undefined): number {
  if (value === undefined || !numeric.test(value)) {
    throw new PlatformError("invalid-entry", `${db}: unexpected entry ${JSON.stringify(line)}`);
  }
  return Number(value);
}

/** Parses one `name:x:uid:gid:gecos:home:shell` line. */
export function parsePasswdLine(line: string): PasswdEntry {
  const f = line.split(":");
  return {
    name: f[0] ?? "",
    uid: idField("passwd", line, f[2]),
    gid: idField("passwd", line, f[3]),
    home: f[5] ?? "",
    shell: f[6] ?? "",
  };
}

/** Parses one `name:x:gid:member,member` line. */
export function parseGroupLine(line: string): GroupEntry {
  const f = line.split(":");
  return {
    name: f[0] ?? "",
    gid: idField("group", line, f[2]),
    members: (f[3] ?? "").split(",").filter((m) => m !== ""),
  };
}

/**
 * The user whose name (or uid, for a number) is `nameOrId`; `undefined` when there is none.
 * Throws PlatformError when the lookup itself fails.
 */
export async function lookupUser(
  nameOrId: string,
  options: UserDatabaseOptions = {},
): Promise<PasswdEntry | undefined> {
  const line = await entryLine("passwd", nameOrId, options);
  return line === undefined ? undefined : parsePasswdLine(line);
}

/** The group whose name (or gid, for a number) is `nameOrId`; `undefined` when there is none. */
export async function lookupGroup(
  nameOrId: string,
  options: UserDatabaseOptions = {},
): Promise<GroupEntry | undefined> {
  const line = await entryLine("group", nameOrId, options);
  return line === undefined ? undefined : parseGroupLine(line);
}

/**
 * The supplementary group ids of a user, as login would set them (`getent initgroups`; without
 * getent, the groups of `/etc/group` listing the user). The primary group is not added.
 */
export async function supplementaryGroupIds(
  user: string,
  options: UserDatabaseOptions = {},
): Promise<number[]> {
  if (user === "") return [];
  const out = await runGetent("initgroups", user, options);
  if (out === undefined) return [];
  if (out !== "no-getent") {
    return out
      .trim()
      .split(/\s+/)
      .slice(1)
      .filter((s) => numeric.test(s))
      .map(Number);
  }
  const ids: number[] = [];
  for (const line of await localLines("group", options)) {
    const f = line.split(":");
    const members = (f[3] ?? "").split(",");
    if (members.includes(user) && numeric.test(f[2] ?? "")) ids.push(Number(f[2]));
  }
  return ids;
}
