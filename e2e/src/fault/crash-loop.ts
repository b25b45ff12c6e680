/**
 * Crash loops: a process that exits at once, restarted with no delay and no start limit, 10,000
 * times (1,000 short). The daemon's RSS and CPU per exit must stay flat: past a warm-up fifth,
 * the last 40% of the exits may not cost more CPU per exit than the 40% before (×1.5 at most),
 * and RSS may not grow by more than 16 MiB over those last 40% (V8's heap settles before). It
 * is alive and answers at the end.
 */
import { readFileSync } from "node:fs";
import { pidAlive, removeDaemonDirs, startDaemon } from "../harness/daemon.js";
import type { Scenario, ScenarioContext, ScenarioResult } from "./suite.js";

const config = `processes:
  looper:
    command: /bin/sh
    args: ["-c", "exit 3"]
    auto_start: true
    restart: always
    restart_sec: 0
    start_limit_interval_sec: 0
`;

/** RSS (bytes) and CPU (seconds) of `pid` from /proc. */
function usage(pid: number): { rss: number; cpu: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return { rss, cpu: (Number(stat[11]) + Number(stat[12])) / 100 };
}

export const crashLoop: Scenario = {
  name: "crash-loops",
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const exits = ctx.short ? 1000 : 10_000;
    const d = await startDaemon({ config });
    const failures: string[] = [];
    try {
      const c = await d.connect("unix");
      const runs = async () => (await c.client.describe({ id: "looper" })).process?.runCount ?? 0;
      const marks: { runs: number; rss: number; cpu: number }[] = [];
      for (const mark of [exits / 5, (exits * 3) / 5, exits]) {
        for (;;) {
          const n = await runs();
          if (n >= mark) {
            marks.push({ runs: n, ...usage(d.pid) });
            ctx.log(`${n} runs: rss ${(marks.at(-1)?.rss ?? 0) / 1048576} MiB`);
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await c.client.stop({ id: "looper" });
      const [fifth, half, end] = marks as [(typeof marks)[0], (typeof marks)[0], (typeof marks)[0]];
      const firstHalf = (half.cpu - fifth.cpu) / (half.runs - fifth.runs);
      const secondHalf = (end.cpu - half.cpu) / (end.runs - half.runs);
      // V8 grows its young generation early on (bench/README.md): RSS is compared from 3/5 on.
      const growth = end.rss - half.rss;
      if (secondHalf > firstHalf * 1.5) {
        failures.push(
          `CPU per exit grew: ${(firstHalf * 1e3).toFixed(2)} ms then ${(secondHalf * 1e3).toFixed(2)} ms`,
        );
      }
      if (growth > 16 * 1048576) {
        failures.push(
          `RSS grew by ${(growth / 1048576).toFixed(1)} MiB over the last 40% of the exits`,
        );
      }
      const alive = pidAlive(d.pid);
      if (!alive) failures.push("the daemon died");
      return {
        inputs: end.runs,
        faults: end.runs,
        crashes: alive ? 0 : 1,
        notes: [
          `CPU per exit ${(firstHalf * 1e3).toFixed(2)} ms, then ${(secondHalf * 1e3).toFixed(2)} ms`,
          `RSS ${(fifth.rss / 1048576).toFixed(1)} MiB at ${fifth.runs} exits, ${(half.rss / 1048576).toFixed(1)} MiB at ${half.runs}, ${(end.rss / 1048576).toFixed(1)} MiB at ${end.runs}`,
        ],
        failures,
      };
    } finally {
      await d.stop();
      await removeDaemonDirs(d);
    }
  },
};
