import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import type { ConfigIssue } from "./errors.js";
import { configOrigin, issueAt } from "./resolve-process.js";
import type { ProcessConfig } from "./types.js";

type Database = "passwd" | "group";

function getent(db: Database, key: string): Promise<boolean | "no-getent"> {
  return new Promise((resolveLookup, reject) => {
    execFile("getent", [db, key], { timeout: 10_000 }, (error) => {
      if (error === null) return resolveLookup(true);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return resolveLookup("no-getent");
      // getent exits 2 when the key is not found.
      if (typeof error.code === "number" && error.code === 2) return resolveLookup(false);
      reject(error);
    });
  });
}

/** Fallback when getent is not installed: the local files only. */
async function inLocalFile(db: Database, key: string): Promise<boolean> {
  const text = await readFile(db === "passwd" ? "/etc/passwd" : "/etc/group", "utf8");
  return text.split("\n").some((line) => {
    const parts = line.split(":");
    return parts[0] === key || parts[2] === key;
  });
}

async function exists(db: Database, key: string): Promise<boolean> {
  const found = await getent(db, key);
  return found === "no-getent" ? inLocalFile(db, key) : found;
}

/**
 * Start-time check (not parse time: users may be created after the file is written) that every
 * `user` and `group` exists, via `getent` (so NSS sources like LDAP count). Numeric ids are
 * accepted as they are. Returns one issue per unknown name and process (empty = all good).
 */
export async function checkUsersAndGroups(
  configs: readonly ProcessConfig[],
): Promise<ConfigIssue[]> {
  const cache = new Map<string, Promise<boolean>>();
  const lookup = (db: Database, key: string) => {
    const k = `${db}:${key}`;
    let p = cache.get(k);
    if (p === undefined) {
      p = /^\d+$/.test(key) ? Promise.resolve(true) : exists(db, key);
      cache.set(k, p);
    }
    return p;
  };
  const issues: ConfigIssue[] = [];
  for (const config of configs) {
    const ctx = configOrigin(config) ?? { nodePath: [], displayPrefix: ["processes", config.name] };
    if (config.user !== undefined && !(await lookup("passwd", config.user))) {
      issues.push(
        issueAt(ctx, ["user"], `unknown user "${config.user}"`, {
          code: "unknown-user",
          expected: "a user known to getent passwd",
          received: JSON.stringify(config.user),
        }),
      );
    }
    if (config.group !== undefined && !(await lookup("group", config.group))) {
      issues.push(
        issueAt(ctx, ["group"], `unknown group "${config.group}"`, {
          code: "unknown-group",
          expected: "a group known to getent group",
          received: JSON.stringify(config.group),
        }),
      );
    }
  }
  return issues;
}
