import { execFile } from "node:child_process";
import { PshError } from "./psh-error.js";

/** The account a psh unit runs as: `User=` and `Group=` (the user's primary group). */
export interface InstallUser {
  readonly user: string;
  readonly uid: number;
  readonly group: string;
  readonly gid: number;
  readonly home: string;
}

/**
 * Who installs the units. Under sudo (running as root with `$SUDO_USER` set to another user) it
 * is the user who ran sudo; otherwise the current user. Root only when really root without
 * `$SUDO_USER`. `$USER` is never trusted: sudo keeps it as the invoking user on some systems and
 * sets it to root on others.
 */
export function selectInstallUserName(input: {
  readonly env: NodeJS.ProcessEnv;
  readonly uid: number;
  readonly currentUser: string;
}): string {
  const sudoUser = input.env.SUDO_USER?.trim();
  if (input.uid === 0 && sudoUser && sudoUser !== "root") return sudoUser;
  return input.currentUser;
}

/** Look the user up with `getent passwd`, and its primary group's name with `getent group`. */
export async function lookupInstallUser(user: string): Promise<InstallUser> {
  const passwd = await getent("passwd", user);
  if (passwd === null) {
    throw new PshError(
      "not-found",
      `unknown user ${JSON.stringify(user)} (getent passwd found nothing)`,
    );
  }
  const fields = passwd.split(":");
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new PshError(
      "invalid",
      `getent passwd ${user}: unexpected entry ${JSON.stringify(passwd)}`,
    );
  }
  const groupEntry = await getent("group", String(gid));
  if (groupEntry === null) {
    throw new PshError(
      "not-found",
      `the primary group ${gid} of user ${user} has no name (getent group ${gid} found nothing)`,
    );
  }
  const group = groupEntry.split(":")[0] ?? "";
  return { user: fields[0] ?? user, uid, group, gid, home: fields[5] ?? "" };
}

function getent(database: string, key: string): Promise<string | null> {
  return new Promise((resolve, reject) => {
    execFile("getent", [database, key], { encoding: "utf8" }, (error, stdout) => {
      if (error) {
        // getent exits 2 when the key is not found.
        if (typeof error.code === "number" && error.code === 2) {
          resolve(null);
          return;
        }
        reject(
          new PshError("command-failed", `getent ${database} ${key}: ${error.message}`, {
            cause: error,
          }),
        );
        return;
      }
      const line = stdout.split("\n")[0]?.trim();
      resolve(line ? line : null);
    });
  });
}
