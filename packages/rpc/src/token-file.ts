import { randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * The daemon token file: the contract between dd-procmgrd (which writes it at start and accepts
 * what it holds) and its TCP clients (which send what they can read), and `pm-cli daemon
 * rotate-token` (which replaces it).
 */
export const tokenFileName = "dd-procmgrd.token";

/** The shortest token the daemon accepts from its file (a new one is 64 hex characters). */
export const minTokenLength = 32;

/** A fresh token: 32 random bytes, as 64 hex characters. */
export function newToken(): string {
  return randomBytes(32).toString("hex");
}

/**
 * Writes `token` to `path` atomically, mode 0600 (and owned by `owner` when given): a temporary
 * file next to it (O_EXCL|O_NOFOLLOW, fsynced), then a rename over `path`, so a reader sees the
 * old token or the new one, never a part, and nothing is written through a symlink.
 */
export async function writeTokenFile(
  path: string,
  token: string,
  owner?: { uid: number; gid: number },
): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}`);
  const fh = await open(
    tmp,
    fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW,
    0o600,
  );
  try {
    try {
      await fh.writeFile(`${token}\n`);
      await fh.chmod(0o600);
      if (owner !== undefined) await fh.chown(owner.uid, owner.gid);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

/** The token a file holds (trimmed); undefined when it is missing, unreadable or empty. */
export async function readTokenFile(path: string): Promise<string | undefined> {
  try {
    const text = (await readFile(path, "utf8")).trim();
    return text === "" ? undefined : text;
  } catch {
    return undefined;
  }
}
