import type { UpdateResponse } from "@procmgr/rpc";
import { Option, UsageError } from "clipanion";
import {
  type ExtraFlag,
  loadedSpecFlags,
  loadSpecFlags,
  type SpecFlag,
  specFlagsHelp,
} from "../proxy-args.js";
import { ProxyVerbCommand, type VerbFlags } from "./proxy-verb.js";

const updateExtra: readonly ExtraFlag[] = [
  { names: ["--dry-run"], key: "dryRun", arity: 0 },
  { names: ["--restart-process", "--apply-restart"], key: "restartProcess", arity: 0 },
  { names: ["--no-health-check"], key: "noHealthCheck", arity: 0 },
];

/** The words that make `--restart` a policy: the flag's spellings and aliases. */
function policyWords(flags: readonly SpecFlag[]): Set<string> {
  const restart = flags.find((f) => f.field === "restart");
  return new Set([...(restart?.values ?? []), ...Object.keys(restart?.aliases ?? {})]);
}

/**
 * `--restart` followed by a policy name sets the restart policy; on its own it asks to restart
 * the process (as `--restart-process`).
 */
export function disambiguateRestart(
  argv: readonly string[],
  flags: readonly SpecFlag[] = loadedSpecFlags(),
): string[] {
  const words = policyWords(flags);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? "";
    if (token === "--") {
      out.push(...argv.slice(i));
      break;
    }
    if (token === "--restart" && !words.has((argv[i + 1] ?? "").toLowerCase())) {
      out.push("--restart-process");
    } else {
      out.push(token);
    }
  }
  return out;
}

export class UpdateCommand extends ProxyVerbCommand {
  static override paths = [["update"]];

  static override usage = ProxyVerbCommand.Usage({
    category: "Processes",
    description: "Change fields of a process's configuration",
    // A getter: the field flags are loaded by run() before it prints the help (not at start-up).
    get details() {
      return [
        "`update NAME [OPTIONS] [--dry-run] [--restart]`. Fields that can change live (restart policy and delays, timeouts, kill signal/mode, limits, dependencies, auto start, description, health check) apply at once; others (command, user, env, working dir, output files...) apply at the next start.",
        "`--restart` alone (or `--restart-process`) restarts a running process to apply them now; `--restart POLICY` sets the restart policy. `--env K=V` adds or replaces one variable and keeps the others. `--dry-run` shows what would change without changing it.",
        "The `--health-*` options change those fields of the current health check and keep the others (an empty value resets one: `--health-endpoint ''`); without a health check, `--health-type` is needed. `--no-health-check` removes it. A health check change applies to a running process at once.",
        specFlagsHelp(loadedSpecFlags()),
      ].join("\n\n");
    },
    examples: [
      ["Always restart myapp, 5 s apart", "$0 update myapp --restart always --restart-sec 5"],
      ["Change a variable and apply it now", "$0 update myapp --env LOG_LEVEL=debug --restart"],
      ["Preview a change", "$0 update myapp --user www-data --dry-run"],
      ["Check myapp's health more often", "$0 update myapp --health-interval 10s"],
    ],
  });

  args = Option.Proxy();

  readonly firstIsProcess = true;

  protected async verbFlags(): Promise<VerbFlags> {
    return { specFlags: await loadSpecFlags(), extraFlags: updateExtra };
  }

  async run(): Promise<number> {
    const options = await this.parseOptions();
    const { specFlags } = options;
    const parsed = this.parseArgs(disambiguateRestart(this.args, specFlags), options);
    if (parsed.help) return this.printHelp();
    const [name, ...extraPositionals] = parsed.positionals;
    if (name === undefined || name === "") throw new UsageError("missing NAME");
    if (extraPositionals.length > 0) {
      throw new UsageError(`unexpected argument ${JSON.stringify(extraPositionals[0])}`);
    }
    const noHealthCheck = parsed.extra.get("noHealthCheck") === "true";
    if (parsed.spec.size === 0 && !noHealthCheck) {
      throw new UsageError("nothing to update: give at least one field option (see --help)");
    }
    const dryRun = parsed.extra.get("dryRun") === "true";
    const restartProcess = parsed.extra.get("restartProcess") === "true";
    const client = await this.client();
    const envFlag = specFlags.find((fl) => fl.field === "env");
    let baseEnv: Record<string, string> | undefined;
    if (envFlag !== undefined && parsed.spec.has(envFlag)) {
      const current = await client.describe({ id: name });
      if (current.envRedacted) {
        throw new UsageError(
          "cannot merge --env: the daemon redacted the current environment (run with sudo)",
        );
      }
      baseEnv = { ...(current.spec?.env ?? {}) };
    }
    const { buildSpec } = await import("../spec-build.js");
    const { spec, fields } = buildSpec(parsed.spec, baseEnv ? { baseEnv } : {});
    if (noHealthCheck) {
      if (fields.some((f) => f.startsWith("health_check."))) {
        throw new UsageError(
          "--no-health-check removes the health check: give no --health-* with it",
        );
      }
      // Listed and unset: the health check is removed.
      fields.push("health_check");
    }
    const res = await client.update({
      id: name,
      spec: { ...spec, name },
      fields,
      dryRun,
      restartProcess,
    });
    if (fields.some((x) => x.startsWith("resource_limits"))) {
      const f = await import("../format/process.js");
      for (const w of f.unenforcedWarnings(res.process)) this.context.stderr.write(w);
    }
    return this.printResult(name, dryRun, res);
  }

  /** What the update did (or would do), as JSON or lines. */
  private async printResult(name: string, dryRun: boolean, res: UpdateResponse): Promise<number> {
    const f = await import("../format/process.js");
    if (this.json) {
      this.printJson({
        name,
        dry_run: dryRun,
        updated_fields: [...res.updatedFields],
        restart_required_fields: [...res.restartRequiredFields],
        process_restarted: res.processRestarted,
        process: res.process ? f.processToJson(res.process) : null,
      });
      return 0;
    }
    const prefix = dryRun ? "would update" : "updated";
    const restartFields = [...res.restartRequiredFields];
    const live = res.updatedFields.filter((x) => !restartFields.includes(x));
    const lines: string[] = [];
    if (live.length === 0 && restartFields.length === 0) lines.push(`${name}: nothing changed`);
    if (live.length > 0)
      lines.push(`${prefix} ${name}: ${live.join(", ")} (${dryRun ? "live" : "applied live"})`);
    if (restartFields.length > 0) {
      const fieldsText = restartFields.join(", ");
      if (res.processRestarted) {
        lines.push(`${prefix} ${name}: ${fieldsText} (process restarted)`);
      } else {
        lines.push(
          `${prefix} ${name}: ${fieldsText} (takes effect at the next start; use --restart or \`${this.context.programName} restart ${name}\`)`,
        );
      }
    }
    this.print(lines.join("\n"));
    return 0;
  }
}
