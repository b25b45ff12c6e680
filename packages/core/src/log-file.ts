/** Opening a log file for appending: as it is when it exists, created with our mode when not. */
import { closeSync, constants, fchmodSync, fchownSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";

const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;
const excl = flags | constants.O_EXCL;
const existing = constants.O_WRONLY | constants.O_APPEND;

export type FileOwner = { readonly uid: number; readonly gid: number };

/**
 * Opens `path` to append. The file usually exists (every start after the first): it is opened
 * as it is, without the exception an O_EXCL attempt would cost. Only a missing file is created
 * (its directory too), 0640, owned by `owner`.
 */
export function openLogFile(path: string, owner: FileOwner | undefined): number {
  try {
    return openSync(path, existing);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    mkdirSync(dirname(path), { recursive: true });
    return createLogFile(path, 0o640, owner);
  }
}

/** Creates `path` with `mode` whatever the umask, owned by `owner` (when allowed). */
export function createLogFile(path: string, mode: number, owner: FileOwner | undefined): number {
  let fd: number;
  try {
    fd = openSync(path, excl, mode);
    fchmodSync(fd, mode);
    if (owner) {
      try {
        fchownSync(fd, owner.uid, owner.gid);
      } catch (e) {
        // A non-root daemon without CAP_CHOWN (setcap cap_setuid,cap_setgid+ep only) keeps
        // the file as its own: the output still reaches it, through the daemon.
        if ((e as NodeJS.ErrnoException).code !== "EPERM") {
          closeSync(fd);
          throw e;
        }
      }
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    fd = openSync(path, flags, mode);
  }
  return fd;
}
