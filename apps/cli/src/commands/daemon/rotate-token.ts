// Node's modules are imported statically: the single executable (a CommonJS bundle) has no
// dynamic import() of them.
import { lstat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Command, Option } from "clipanion";
import { CliError } from "../../errors.js";
import { DaemonCommand } from "./daemon-command.js";

/** `daemon rotate-token`: a new TCP token, accepted at once, the old one refused, no restart. */
export class DaemonRotateTokenCommand extends DaemonCommand {
  static override paths = [["daemon", "rotate-token"]];

  static override usage = Command.Usage({
    category: "Daemon",
    description: "replace the daemon's TCP token without restarting it",
    details: `
      Writes a new random token (32 bytes, 64 hex characters) to the daemon's token file,
      atomically (a new file renamed over the old one, mode 0600, the old file's owner). The
      daemon checks the file at each call that presents a token: from the next call on it
      accepts the new token only, and refuses the old one. Clients that read the file (pm-cli
      run with sudo, or as the daemon's user) pick the new token up by themselves; copies of it
      elsewhere (PM_TOKEN_PATH on another host) must be replaced.

      The file is \`--token-file\`, else $PM_TOKEN_PATH, else the first \`dd-procmgrd.token\` of
      the runtime directories ($PM_RUNTIME_DIR, $XDG_RUNTIME_DIR when not root,
      /run/dd-procmgrd). Replacing it needs the rights of the daemon's user (sudo for the system
      daemon).
    `,
    examples: [
      ["Rotate the system daemon's token", "sudo $0 daemon rotate-token"],
      ["Rotate the token of a file elsewhere", "$0 daemon rotate-token --token-file /run/x.token"],
    ],
  });

  tokenFile = Option.String("--token-file", {
    description: "the daemon's token file (default: $PM_TOKEN_PATH, then the runtime dirs)",
  });

  override async run(): Promise<number> {
    const { newToken, writeTokenFile } = await import("@procmgr/rpc");
    const path = await this.locate();
    const st = await lstat(path);
    if (!st.isFile())
      throw new CliError("failed", `${path} is not a regular file; not replacing it`);
    try {
      await writeTokenFile(path, newToken(), { uid: st.uid, gid: st.gid });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EACCES" || code === "EPERM") {
        throw new CliError(
          "permission",
          `cannot replace ${path}: ${(e as Error).message}; run with sudo (or as the daemon's user)`,
          { cause: e },
        );
      }
      throw e;
    }
    this.context.stdout.write(
      `rotated the token in ${path}: the daemon accepts only the new one from its next call on\n`,
    );
    return 0;
  }

  /** The token file: the flag, PM_TOKEN_PATH, or the first of the runtime dirs that exists. */
  private async locate(): Promise<string> {
    const { runtimeDirCandidates, tokenFileName } = await import("@procmgr/rpc");
    const env = this.context.env;
    const given = this.tokenFile ?? (env.PM_TOKEN_PATH || undefined);
    const candidates =
      given !== undefined
        ? [resolve(this.context.cwd, given)]
        : runtimeDirCandidates(env, this.context.uid).map((d) => join(d, tokenFileName));
    for (const path of candidates) {
      try {
        await lstat(path);
        return path;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EACCES") {
          throw new CliError("permission", `cannot see ${path}: run with sudo`, { cause: e });
        }
        if (code !== "ENOENT") throw e;
      }
    }
    throw new CliError(
      "failed",
      `no token file (looked at ${candidates.join(", ")}): is the daemon running with a TCP listener? Name the file with --token-file`,
    );
  }
}
