import { lookupGroup, lookupUser, PlatformError } from "@procmgr/platform";
import { PshError } from "./errors.js";

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

/**
 * Look the user up (`getent passwd`, @procmgr/platform), and its primary group's name
 * (`getent group`).
 */
export async function lookupInstallUser(user: string): Promise<InstallUser> {
  const passwd = await lookup(`getent passwd ${user}`, () => lookupUser(user));
  if (passwd === undefined) {
    throw new PshError(
      "not-found",
      `unknown user ${JSON.stringify(user)} (getent passwd found nothing)`,
    );
  }
  const { uid, gid } = passwd;
  const groupEntry = await lookup(`getent group ${gid}`, () => lookupGroup(String(gid)));
  if (groupEntry === undefined) {
    throw new PshError(
      "not-found",
      `the primary group ${gid} of user ${user} has no name (getent group ${gid} found nothing)`,
    );
  }
  return { user: passwd.name, uid, group: groupEntry.name, gid, home: passwd.home };
}

/** A platform lookup; its failures as PshError (a malformed entry "invalid", else "command-failed"). */
async function lookup<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    const error = PlatformError.from(e);
    const code = error.code === "invalid-entry" ? "invalid" : "command-failed";
    throw new PshError(code, `${what}: ${error.message}`, { cause: e });
  }
}
