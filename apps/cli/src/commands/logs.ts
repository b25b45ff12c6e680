import { Option, UsageError } from "clipanion";
import * as t from "typanion";
import type { Colors } from "../format/color.js";
import { BaseCommand, processArgument } from "./base.js";

export class LogsCommand extends BaseCommand {
  static override paths = [["logs"], ["log"]];

  static override usage = BaseCommand.Usage({
    category: "Logs and events",
    description:
      "Print the last lines of a process's output (or every process's), and follow it with -f",
    details: `
      Both streams by default; \`--stdout\` or \`--stderr\` picks one. With \`-f\` new lines are
      printed as they are written until Ctrl-C. Without NAME, every process's: each line after
      its process's name (coloured on a terminal), the last lines of each process first, then
      what they all write, interleaved as it comes. \`-o json\` prints one JSON object per line
      (\`{"process":"web","stream":"stdout","line":"..."}\`).
    `,
    examples: [
      ["Last 20 lines of myapp", "$0 logs myapp"],
      ["Follow every process, each line after its name", "$0 logs -f"],
      ["Follow, starting from the last 100 lines", "$0 logs myapp -f -n 100"],
      ["Only stderr", "$0 logs myapp --stderr"],
    ],
  });

  follow = Option.Boolean("-f,--follow", false, { description: "Keep printing new output" });

  lines = Option.String("-n,--lines", "20", {
    description: "How many trailing lines to print first (default 20)",
    validator: t.cascade(t.isNumber(), [t.isInteger(), t.isAtLeast(0)]),
  });

  stdoutOnly = Option.Boolean("--stdout", false, { description: "Only the stdout stream" });

  stderrOnly = Option.Boolean("--stderr", false, { description: "Only the stderr stream" });

  name = Option.String({ name: processArgument, required: false });

  async run(): Promise<number> {
    if (this.stdoutOnly && this.stderrOnly) {
      throw new UsageError("--stdout and --stderr are exclusive (give neither for both)");
    }
    const { LogStream } = await import("@procmgr/rpc");
    const stream = this.stdoutOnly
      ? LogStream.STDOUT
      : this.stderrOnly
        ? LogStream.STDERR
        : LogStream.UNSPECIFIED;
    const client = await this.client();
    const responses = client.tailLogs(
      { id: this.name ?? "", stream, lines: this.lines, follow: this.follow },
      { signal: this.context.signal },
    );
    const decoder = new TextDecoder();
    const prefix = this.name === undefined ? namePrefixes(this.colors) : undefined;
    try {
      for await (const chunk of responses) {
        const text = decoder.decode(chunk.data);
        if (this.json) {
          const name = chunk.stream === LogStream.STDERR ? "stderr" : "stdout";
          for (const line of text.split("\n")) {
            if (line === "") continue;
            const out = { process: chunk.process, stream: name, line };
            this.context.stdout.write(`${JSON.stringify(out)}\n`);
          }
        } else if (prefix !== undefined) {
          const lead = prefix(chunk.process);
          this.context.stdout.write(text.replace(/^(?=.)/gm, lead));
        } else {
          this.context.stdout.write(text);
        }
      }
    } catch (e) {
      if (this.context.signal.aborted) return 0;
      throw e;
    }
    return 0;
  }
}

/** "web | " for each process, in one of a few colours by first appearance, padded to align. */
function namePrefixes(c: Colors): (name: string) => string {
  const palette = [c.cyan, c.green, c.yellow, c.bold, c.grey];
  const paints = new Map<string, (s: string) => string>();
  let width = 0;
  return (name) => {
    width = Math.max(width, name.length);
    let paint = paints.get(name);
    if (paint === undefined) {
      paint = palette[paints.size % palette.length] ?? c.cyan;
      paints.set(name, paint);
    }
    return `${paint(name.padEnd(width))} | `;
  };
}
