// Node's modules are imported statically: the single executable (a CommonJS bundle) has no
// dynamic import() of them.
import { homedir } from "node:os";
import type { DaemonVariant } from "@procmgr/unitgen";
import { Command, Option } from "clipanion";
import * as t from "typanion";
import { DaemonCommand } from "./daemon-command.js";
import { installVariants } from "./variants.js";

/** `daemon uninstall`: reverses `daemon install`. */
export class DaemonUninstallCommand extends DaemonCommand {
  static override paths = [["daemon", "uninstall"]];

  static override usage = Command.Usage({
    category: "Daemon",
    description: "remove the dd-procmgrd systemd service",
    details: `
      Stops and disables the service, removes its unit, runs \`systemctl daemon-reload\` and
      removes the installed executables. Configuration, state and logs are kept unless
      \`--purge\` is given (which also removes the dd-procmgrd service user of a system
      install). The variant defaults to "user" for a non-root caller, else "standard" (all
      system variants install the same files).
    `,
    examples: [
      ["Remove the system service, keep config and state", "$0 daemon uninstall"],
      ["Remove the user service and its data", "$0 daemon uninstall --variant user --purge"],
    ],
  });

  variant = Option.String("--variant", {
    description: "standard | capability | user | secure",
    validator: t.isEnum(installVariants),
  });
  purge = Option.Boolean("--purge", false, {
    description: "also remove configuration, state, logs and the service user",
  });
  dryRun = Option.Boolean("--dry-run", false, { description: "print the steps, change nothing" });
  binDir = Option.String("--bin-dir", { description: "where the executables were installed" });

  override async run(): Promise<number> {
    const { applySteps, planUninstall } = await import("@procmgr/unitgen");
    const { privilege } = await import("./privilege.js");
    const env = this.context.env;
    const variant: DaemonVariant = this.variant ?? (this.context.uid === 0 ? "standard" : "user");
    const sudo = privilege(variant, this.context.uid, env, this.dryRun);
    const steps = planUninstall({
      variant,
      home: env.HOME || homedir(),
      ...(this.binDir !== undefined ? { binDir: this.binDir } : {}),
      ...(env.XDG_CONFIG_HOME ? { xdgConfigHome: env.XDG_CONFIG_HOME } : {}),
      ...(env.XDG_DATA_HOME ? { xdgDataHome: env.XDG_DATA_HOME } : {}),
      purge: this.purge,
    });
    const results = await applySteps(steps, {
      sudo,
      dryRun: this.dryRun,
      env,
      report: (line) => this.context.stdout.write(`${line}\n`),
    });
    const changed = results.filter((r) => r.outcome === "changed").length;
    this.context.stdout.write(
      this.dryRun
        ? `dry run: ${results.length} steps, nothing changed\n`
        : `dd-procmgrd (${variant}) uninstalled: ${changed} changed${this.purge ? "" : "; configuration and state kept (--purge removes them)"}\n`,
    );
    return 0;
  }
}
