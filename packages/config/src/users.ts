import { lookupGroup, lookupUser } from "@procmgr/platform";
import type { ConfigIssue } from "./errors.js";
import { configOrigin } from "./resolve-process.js";
import type { ProcessConfig } from "./types.js";
import { issueAt } from "./yaml-source.js";

type Database = "passwd" | "group";

async function exists(db: Database, key: string): Promise<boolean> {
  const entry = db === "passwd" ? await lookupUser(key) : await lookupGroup(key);
  return entry !== undefined;
}

/**
 * Start-time check (not parse time: users may be created after the file is written) that every
 * `user` and `group` exists, via `getent` (so NSS sources like LDAP count; the /etc files when
 * getent is missing). Numeric ids are accepted as they are. Returns one issue per unknown name and process (empty = all good).
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
