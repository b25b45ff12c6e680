/**
 * The prelude of a spawn: what the child must do with its own pid before its program runs, in
 * `/bin/sh`, which then execs the program in its place (the pid stays the program's).
 */

/** The exit status of a prelude that could not enter its cgroup (systemd's EXIT_CGROUP). */
export const cgroupExitCode = 219;

/**
 * `argv` as is, or run by a /bin/sh prelude that first writes its own pid to each of
 * `procsFiles` (its cgroup, before the program runs: no fork of the program can escape it) and
 * sets each of `ownPidVars` to that pid, then execs `argv` in its place (the pid stays the
 * program's). It runs before `setpriv` changes the user, with the daemon's rights.
 */
export function prelude(
  procsFiles: readonly string[],
  ownPidVars: readonly string[],
  argv: readonly string[],
): string[] {
  if (procsFiles.length === 0 && ownPidVars.length === 0) return [...argv];
  const enter = `for f do [ "$f" = -- ] && break; echo $$ > "$f" || { echo "procmgr: cannot enter cgroup $f" >&2; exit ${cgroupExitCode}; }; shift; done; shift;`;
  const vars = ownPidVars.map((name) => ` ${name}=$$; export ${name};`).join("");
  return ["/bin/sh", "-c", `${enter}${vars} exec "$@"`, "sh", ...procsFiles, "--", ...argv];
}
