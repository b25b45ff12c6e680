import { Option } from "clipanion";
import { BaseCommand } from "./base.js";

export class ReloadConfigCommand extends BaseCommand {
  static override paths = [["reload-config"], ["reload"]];

  static override usage = BaseCommand.Usage({
    category: "Daemon",
    description: "Re-read the config file and apply what changed",
    details: `
      Only changed processes restart, new ones start (when auto_start), removed ones stop. An
      invalid file changes nothing and the error is printed. \`--dry-run\` prints the diff
      (added, removed, changed, unchanged) without applying it. Same as \`systemctl reload
      dd-procmgrd\` (SIGHUP).
    `,
    examples: [
      ["Reload processes.yaml", "$0 reload-config"],
      ["Show what a reload would do", "$0 reload-config --dry-run"],
    ],
  });

  dryRun = Option.Boolean("--dry-run", false, {
    description: "Show the diff without applying it",
  });

  async run(): Promise<number> {
    const client = await this.client();
    const res = await client.reloadConfig({ dryRun: this.dryRun });
    if (this.json) {
      this.printJson({
        config_path: res.configPath,
        dry_run: res.dryRun || this.dryRun,
        added: [...res.added],
        removed: [...res.removed],
        changed: [...res.changed],
        unchanged: [...res.unchanged],
      });
      return 0;
    }
    const c = this.colors;
    const dry = res.dryRun || this.dryRun;
    const lines = [
      dry
        ? `Dry run: reloading ${res.configPath || "the config"} would change:`
        : `Reloaded ${res.configPath || "the config"}:`,
    ];
    const row = (
      label: string,
      mark: string,
      names: readonly string[],
      paint: (s: string) => string,
    ) => {
      const shown = names.length > 0 ? names.map((n) => paint(`${mark}${n}`)).join(" ") : "-";
      lines.push(`  ${`${label}:`.padEnd(11)}${shown}`);
    };
    row("added", "+", res.added, c.green);
    row("removed", "-", res.removed, c.red);
    row("changed", "~", res.changed, c.yellow);
    row("unchanged", "", res.unchanged, (s) => s);
    this.print(lines.join("\n"));
    return 0;
  }
}
