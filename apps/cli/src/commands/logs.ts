import { parseDurationSeconds } from "@procmgr/platform";
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
      (\`{"time":"...","process":"web","stream":"stdout","line":"..."}\`; \`time\` is null for a
      log file's past lines without log_timestamps). Lines of \`stdout: journal\` processes come
      from the journal. \`--since\` takes a time (\`2026-12-05 10:00\`, ISO 8601) or how long ago
      (\`10m\`, \`1h30m\`); it prints every line since then unless \`-n\` is given, and needs
      times: the journal's, or log_timestamps in log files.
    `,
    examples: [
      ["Last 20 lines of myapp", "$0 logs myapp"],
      ["Follow every process, each line after its name", "$0 logs -f"],
      ["Follow, starting from the last 100 lines", "$0 logs myapp -f -n 100"],
      ["Only stderr", "$0 logs myapp --stderr"],
      ["Everything of the last 10 minutes, as JSON", "$0 logs --since 10m -o json"],
    ],
  });

  follow = Option.Boolean("-f,--follow", false, { description: "Keep printing new output" });

  since = Option.String("--since", {
    description: 'Only lines since this time (ISO 8601, "2026-12-05 10:00") or this long ago (10m)',
  });

  lines = Option.String("-n,--lines", {
    description: "How many trailing lines to print first (default 20; with --since: all)",
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
    const since = this.since === undefined ? undefined : parseSince(this.since, new Date());
    const { timestampFromDate, timestampDate } = await import("@bufbuild/protobuf/wkt");
    // Without -n: 20 lines, or every line since --since (0xffffffff: all).
    const lines = this.lines ?? (since === undefined ? 20 : 0xffffffff);
    const client = await this.client();
    const responses = client.tailLogs(
      {
        id: this.name ?? "",
        stream,
        lines,
        follow: this.follow,
        ...(since === undefined ? {} : { since: timestampFromDate(since) }),
      },
      { signal: this.context.signal },
    );
    const decoder = new TextDecoder();
    const prefix = this.name === undefined ? namePrefixes(this.colors) : undefined;
    try {
      for await (const chunk of responses) {
        if (chunk.notice !== "") {
          this.context.stderr.write(`${this.colors.yellow("note:")} ${chunk.notice}\n`);
          continue;
        }
        const text = decoder.decode(chunk.data);
        if (this.json) {
          const name = chunk.stream === LogStream.STDERR ? "stderr" : "stdout";
          const time = chunk.time === undefined ? null : timestampDate(chunk.time).toISOString();
          for (const line of text.split("\n")) {
            if (line === "") continue;
            const out = { time, process: chunk.process, stream: name, line };
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

/**
 * `--since`: how long ago ("10m", "1h30m", "90s", "2d") or a time JavaScript reads ("2026-12-05
 * 10:00", ISO 8601; without a zone: local time). Throws a UsageError naming both forms.
 */
export function parseSince(value: string, now: Date): Date {
  const ago = /[a-z]$/i.test(value.trim()) ? parseDurationSeconds(value) : undefined;
  if (ago !== undefined && Number.isFinite(ago)) return new Date(now.getTime() - ago * 1000);
  const at = Date.parse(value.trim().replace(/^(\d{4}-\d\d-\d\d) /, "$1T"));
  if (!Number.isNaN(at)) return new Date(at);
  throw new UsageError(
    `--since ${JSON.stringify(value)}: expected a time ("2026-12-05 10:00", ISO 8601) or how long ago ("10m", "1h30m")`,
  );
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
