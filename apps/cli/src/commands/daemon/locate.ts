/**
 * Finds the standalone executables `daemon install` copies: given paths, else the running
 * standalone executable (a Node single-executable application holding the daemon and the CLI),
 * else the repo's build output (`apps/daemon/dist-bin/dd-procmgrd` and
 * `apps/cli/dist-bin/dd-procmgr-cli`, links to one multi-call executable). When both are one
 * file, `cli` is `daemon`'s path (the install plan then links instead of copying it twice).
 */
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CliError } from "../../errors.js";

export interface Executables {
  daemon: string;
  cli: string;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** True when this process is a Node single-executable application (the built CLI). */
export function isStandalone(): boolean {
  try {
    const require = createRequire(import.meta.url);
    const sea = require("node:sea") as { isSea?: () => boolean };
    return sea.isSea?.() === true;
  } catch {
    // node:sea missing (older Node) or no import.meta.url (bundled): decide by the exe name
    return !/^node(js)?(\.exe)?$/.test(basename(process.execPath));
  }
}

/** apps/cli/ of the repo this module was built in, if it is one. */
function cliPackageDir(): string | undefined {
  try {
    // dist/commands/daemon/locate.js -> apps/cli (not so inside a bundle: check)
    const dir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
    return existsSync(join(dir, "bin", "dd-procmgr-cli.js")) ? dir : undefined;
  } catch {
    return undefined;
  }
}

export function locateExecutables(flags: {
  daemonBinary?: string;
  cliBinary?: string;
}): Executables {
  const daemonCandidates: string[] = [];
  const cliCandidates: string[] = [];
  if (flags.daemonBinary !== undefined) daemonCandidates.push(resolve(flags.daemonBinary));
  if (flags.cliBinary !== undefined) cliCandidates.push(resolve(flags.cliBinary));
  if (isStandalone()) {
    // The standalone executable is the daemon and the CLI in one (it runs as the name it is
    // installed under): it installs itself as both.
    cliCandidates.push(process.execPath);
    daemonCandidates.push(process.execPath);
    daemonCandidates.push(join(dirname(process.execPath), "dd-procmgrd"));
    // the repo's build layout: apps/cli/dist-bin/ next to apps/daemon/dist-bin/
    daemonCandidates.push(
      join(dirname(process.execPath), "..", "..", "daemon", "dist-bin", "dd-procmgrd"),
    );
  }
  const pkg = cliPackageDir();
  if (pkg !== undefined) {
    cliCandidates.push(join(pkg, "dist-bin", "dd-procmgr-cli"));
    daemonCandidates.push(join(pkg, "..", "daemon", "dist-bin", "dd-procmgrd"));
  }
  const pick = (what: string, flag: string, explicit: boolean, candidates: string[]): string => {
    const first = candidates[0];
    if (explicit && first !== undefined) {
      if (!executable(first))
        throw new CliError("usage", `${flag} ${first}: not an executable file`);
      return first;
    }
    const found = candidates.find(executable);
    if (found !== undefined) return found;
    throw new CliError(
      "failed",
      `cannot find the ${what} executable (looked at ${candidates.join(", ") || "nothing"}); ` +
        `build it with \`pnpm build\` or pass ${flag} PATH`,
    );
  };
  const daemon = pick(
    "daemon",
    "--daemon-binary",
    flags.daemonBinary !== undefined,
    daemonCandidates,
  );
  const cli = pick("CLI", "--cli-binary", flags.cliBinary !== undefined, cliCandidates);
  // One multi-call executable (the build's links are hard links to it): install it once.
  return { daemon, cli: sameFile(daemon, cli) ? daemon : cli };
}

function sameFile(a: string, b: string): boolean {
  const x = statSync(a);
  const y = statSync(b);
  return x.dev === y.dev && x.ino === y.ino;
}
