import { Option, UsageError } from "clipanion";
import { loadedSpecFlags, loadSpecFlags, type SpecFlag, specFlagsHelp } from "../proxy-args.js";
import { ProxyVerbCommand, type VerbFlags } from "./proxy-verb.js";

function createFlags(flags: readonly SpecFlag[]): SpecFlag[] {
  return flags.filter((f) => f.updateOnly !== true);
}

export class CreateCommand extends ProxyVerbCommand {
  static override paths = [["create"]];

  static override usage = ProxyVerbCommand.Usage({
    category: "Processes",
    description: "Define a new process (and start it with --auto-start)",
    // A getter: the field flags are loaded by run() before it prints the help (not at start-up).
    get details() {
      return [
        "`create NAME COMMAND [ARGS...] [OPTIONS]`. The options below are recognised anywhere on the line; every other word after COMMAND (including options we do not know, like `-c`) is passed to the command. Put the command after `--` to pass words that look like our options verbatim. Short options (`-o`, `-h`) are ours only before COMMAND.",
        "Also: `--address`, `-o,--output text|json`, `--no-color`.",
        specFlagsHelp(createFlags(loadedSpecFlags())),
      ].join("\n\n");
    },
    examples: [
      ["Run sleep now and on every daemon start", "$0 create test sleep 10 --auto-start"],
      [
        "Run as another user with its output in a file",
        "$0 create test-cap bash -c 'whoami' --user nobody --stdout /tmp/test-cap.log --auto-start",
      ],
      [
        "Pass options verbatim to the command",
        "$0 create dbg --restart always -- node --inspect app.js",
      ],
      [
        "With environment variables",
        "$0 create web --env PORT=8080 --env NODE_ENV=production node server.js",
      ],
      [
        "With an HTTP health check, restarted after 3 failures in a row",
        "$0 create api --auto-start --health-type http --health-endpoint http://127.0.0.1:8080/health --health-restart-after 3 node server.js",
      ],
    ],
  });

  args = Option.Proxy();

  readonly firstIsProcess = false;

  protected async verbFlags(): Promise<VerbFlags> {
    return { specFlags: createFlags(await loadSpecFlags()), commandIndex: 1 };
  }

  async run(): Promise<number> {
    const parsed = this.parseArgs(this.args, await this.parseOptions());
    if (parsed.help) return this.printHelp();
    const [name, command, ...commandArgs] = parsed.positionals;
    if (name === undefined || name === "") throw new UsageError("missing NAME and COMMAND");
    if (command === undefined || command === "") {
      throw new UsageError(`missing COMMAND for process ${JSON.stringify(name)}`);
    }
    const { buildSpec, relativeFileArgument } = await import("../spec-build.js");
    const { spec } = buildSpec(parsed.spec);
    if (spec.workingDir === undefined) {
      const relative = relativeFileArgument(this.context.cwd, [command, ...commandArgs]);
      if (relative !== undefined) {
        spec.workingDir = this.context.cwd;
        if (!this.json) {
          this.context.stderr.write(
            `note: working directory set to ${this.context.cwd} (${relative} is relative to it); use --working-dir to choose another\n`,
          );
        }
      }
    }
    const client = await this.client();
    const res = await client.create({ spec: { ...spec, name, command, args: commandArgs } });
    const f = await import("../format/process.js");
    const p = res.process;
    for (const w of f.unenforcedWarnings(p)) this.context.stderr.write(w);
    if (this.json) {
      this.printJson(p ? f.processToJson(p) : null);
      return 0;
    }
    if (p === undefined) {
      this.print(`created ${name}`);
    } else {
      const pid = p.pid > 0 ? `, pid ${p.pid}` : "";
      this.print(`created ${p.name} (id ${p.id.slice(0, 8)}): ${f.stateName(p.state)}${pid}`);
    }
    return 0;
  }
}
