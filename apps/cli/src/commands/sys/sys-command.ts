import type { SysAction } from "@procmgr/psh";
import { Command, Option } from "clipanion";
import type { CliContext } from "../../context.js";

export type SysVerb = SysAction;

/**
 * Options shared by every `psh sys` verb; subclasses set `verb`, `paths` and `usage`. The work is
 * @procmgr/psh's `runSys`.
 */
export abstract class SysCommand extends Command<CliContext> {
  protected abstract readonly verb: SysVerb;

  targets = Option.Rest({ name: "targets" });

  module = Option.Boolean("--module", false, {
    description: "Only modules: limit the wildcard to modules, read names as module names",
  });

  service = Option.Boolean("--service", false, {
    description: "Only services: limit the wildcard to services, read names as service names",
  });

  dryRun = Option.Boolean("--dry-run", false, {
    description: "Print the unit files and commands without changing anything",
  });

  override async execute(): Promise<number> {
    const [{ runSys }, { userInfo }] = await Promise.all([
      import("@procmgr/psh"),
      import("node:os"),
    ]);
    return runSys(
      {
        action: this.verb,
        targets: this.targets,
        module: this.module,
        service: this.service,
        dryRun: this.dryRun,
      },
      {
        stdin: this.context.stdin,
        stdout: this.context.stdout,
        stderr: this.context.stderr,
        env: this.context.env,
        cwd: process.cwd(),
        uid: this.context.uid,
        currentUser: userInfo().username,
      },
    );
  }
}

/** The targets paragraph every verb's usage shares. */
export const targetsDetails = `
Targets: none, \`*\` or \`all\` means every module (launch enabled) and service (up) of the host profile \`hosts/<host>.(toml|json|jsonc|yaml|yml)\` (host: \`$PSH_HOST\`, else the host name), or everything under \`modules/\` and \`services/\` when there is no profile. \`--module\` / \`--service\` limit the wildcard to one kind. A name that is both a module and a service means the module unless \`--service\` is given.

The repo is \`$PSYCHED_REPO_ROOT\`, else the nearest directory above the current one that has \`modules/\`. Unit files live in \`/etc/systemd/system\` (\`$PSH_SYSTEMD_DIR\` overrides). When not root, writes and \`systemctl\` calls run through \`sudo -n\`, checked before anything changes; on a terminal sudo asks for the password once (\`sudo -v\`), without one a password-less sudoers entry is needed (the error shows one). A failing target does not stop the others; the summary lists what failed and the exit code is 1.
`;
