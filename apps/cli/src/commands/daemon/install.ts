// Node's modules are imported statically: the single executable (a CommonJS bundle) has no
// dynamic import() of them.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { Command, Option } from "clipanion";
import * as t from "typanion";
import { DaemonCommand } from "./daemon-command.js";
import { installVariants } from "./variants.js";

/** `daemon install`: the seed guide's installation of the daemon as a systemd service. */
export class DaemonInstallCommand extends DaemonCommand {
  static override paths = [["daemon", "install"]];

  static override usage = Command.Usage({
    category: "Daemon",
    description: "install dd-procmgrd as a systemd service",
    details: `
      Performs the installation steps of the systemd guide for one variant, idempotently:
      installs the executables (\`install -m 755\`; /usr/bin, or ~/.local/bin for the user
      variant), creates the directories with their permissions, the service user
      (capability variant), file capabilities (capability variant, when setcap exists), a
      default processes.yaml when none exists, the unit, then \`systemctl daemon-reload\`,
      \`enable\` and \`start\` (\`systemctl --user\` for the user variant).

      Steps already in place are reported as "unchanged". System variants need root: the
      commands run through sudo when you are not root. \`--dry-run\` prints every step and
      changes nothing.
    `,
    examples: [
      ["Install the standard (root) service", "$0 daemon install --variant standard"],
      [
        "Show what the capability variant would do",
        "$0 daemon install --variant capability --dry-run",
      ],
      ["Install a user service (no root)", "$0 daemon install --variant user"],
    ],
  });

  variant = Option.String("--variant", "standard", {
    description: "standard | capability | user | secure",
    validator: t.isEnum(installVariants),
  });
  dryRun = Option.Boolean("--dry-run", false, { description: "print the steps, change nothing" });
  binDir = Option.String("--bin-dir", {
    description: "where the executables go (default /usr/bin; user variant ~/.local/bin)",
  });
  start = Option.Boolean("--start", true, {
    description: "start the service (--no-start: do not)",
  });
  enable = Option.Boolean("--enable", true, {
    description: "enable the service (--no-enable: do not)",
  });
  daemonBinary = Option.String("--daemon-binary", {
    description:
      "the dd-procmgrd executable to install (default: next to this CLI or the build output)",
  });
  cliBinary = Option.String("--cli-binary", {
    description: "the CLI executable to install (default: this one or the build output)",
  });

  override async run(): Promise<number> {
    const { applySteps, daemonUnit, planInstall, renderUnit } = await import("@procmgr/unitgen");
    const { defaultConfigText } = await import("@procmgr/config");
    const { locateExecutables } = await import("./locate.js");
    const { privilege } = await import("./privilege.js");

    const variant = this.variant;
    const env = this.context.env;
    const home = env.HOME || homedir();
    const sudo = privilege(variant, this.context.uid, env, this.dryRun);
    let exes: { daemon: string; cli: string };
    try {
      exes = locateExecutables({
        ...(this.daemonBinary !== undefined ? { daemonBinary: this.daemonBinary } : {}),
        ...(this.cliBinary !== undefined ? { cliBinary: this.cliBinary } : {}),
      });
    } catch (e) {
      if (!this.dryRun) throw e;
      this.context.stderr.write(`warning: ${(e as Error).message}\n`);
      exes = { daemon: "<dd-procmgrd executable>", cli: "<dd-procmgr-cli executable>" };
    }
    const unit = daemonUnit(
      variant,
      this.binDir !== undefined ? { daemonPath: join(this.binDir, "dd-procmgrd") } : {},
    );
    const unitText = renderUnit(unit);
    const steps = planInstall({
      variant,
      daemonBinary: exes.daemon,
      cliBinary: exes.cli,
      ...(this.binDir !== undefined ? { binDir: this.binDir } : {}),
      unitText,
      configText: defaultConfigText,
      home,
      ...(env.XDG_CONFIG_HOME ? { xdgConfigHome: env.XDG_CONFIG_HOME } : {}),
      ...(env.XDG_DATA_HOME ? { xdgDataHome: env.XDG_DATA_HOME } : {}),
      enable: this.enable,
      start: this.start,
      nologinShell: existsSync("/usr/sbin/nologin") ? "/usr/sbin/nologin" : "/bin/false",
    });
    const results = await applySteps(steps, {
      sudo,
      dryRun: this.dryRun,
      env,
      report: (line) => this.context.stdout.write(`${line}\n`),
    });
    const count = (o: string) => results.filter((r) => r.outcome === o).length;
    if (this.dryRun) {
      this.context.stdout.write(
        `dry run: ${results.length} steps for the ${variant} variant, nothing changed\n`,
      );
    } else {
      const warnings = count("warning");
      this.context.stdout.write(
        `dd-procmgrd (${variant}): ${count("changed")} changed, ${count("unchanged")} unchanged` +
          `${warnings > 0 ? `, ${warnings} warning${warnings > 1 ? "s" : ""}` : ""}\n`,
      );
    }
    return 0;
  }
}
