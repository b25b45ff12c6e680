/** Runtime directories: `/run` for root, `$XDG_RUNTIME_DIR` (or a private /tmp dir) otherwise. */
import { isAbsolute } from "node:path";

/** The system daemon's runtime directory (socket, token): root only. */
export const systemRuntimeDir = "/run/dd-procmgrd";

/**
 * A user's runtime directory: `$XDG_RUNTIME_DIR` when set to an absolute path (the XDG spec:
 * relative paths are invalid and ignored), else `/tmp/dd-procmgrd-<uid>`.
 */
export function userRuntimeDir(env: NodeJS.ProcessEnv, uid: number): string {
  const xdg = env.XDG_RUNTIME_DIR;
  return xdg !== undefined && xdg !== "" && isAbsolute(xdg) ? xdg : `/tmp/dd-procmgrd-${uid}`;
}

/** The daemon's runtime directory: {@link systemRuntimeDir} as root, the user's otherwise. */
export function daemonRuntimeDir(env: NodeJS.ProcessEnv, uid: number): string {
  return uid === 0 ? systemRuntimeDir : userRuntimeDir(env, uid);
}

/**
 * Where a process's `runtime_directory` entries are created: `/run` as root, the user's
 * runtime directory otherwise.
 */
export function runtimeDirectoryBase(env: NodeJS.ProcessEnv, uid: number): string {
  return uid === 0 ? "/run" : userRuntimeDir(env, uid);
}
