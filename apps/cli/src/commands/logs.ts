import { Option, UsageError } from "clipanion";
import * as t from "typanion";
import { BaseCommand } from "./base.js";

export class LogsCommand extends BaseCommand {
  static override paths = [["logs"], ["log"]];

  static override usage = BaseCommand.Usage({
    category: "Logs and events",
    description: "Print the last lines of a process's output, and follow it with -f",
    details: `
      Both streams by default; \`--stdout\` or \`--stderr\` picks one. With \`-f\` new lines are
      printed as they are written until Ctrl-C. \`-o json\` prints one JSON object per line
      (\`{"stream":"stdout","line":"..."}\`).
    `,
    examples: [
      ["Last 20 lines of myapp", "$0 logs myapp"],
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

  name = Option.String({ name: "NAME" });

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
      { id: this.name, stream, lines: this.lines, follow: this.follow },
      { signal: this.context.signal },
    );
    const decoder = new TextDecoder();
    try {
      for await (const chunk of responses) {
        const text = decoder.decode(chunk.data);
        if (this.json) {
          const name = chunk.stream === LogStream.STDERR ? "stderr" : "stdout";
          for (const line of text.split("\n")) {
            if (line !== "")
              this.context.stdout.write(`${JSON.stringify({ stream: name, line })}\n`);
          }
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
