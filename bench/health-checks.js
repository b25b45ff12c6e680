#!/usr/bin/env node
/**
 * node bench/health-checks.js [--quick] [--runs LIST]: 1,000 HealthMonitors with
 * 1 s tcp checks in this process and the CPU they cost it (see lib/health.js and
 * bench/README.md). Needs `pnpm build` (it imports packages/core/dist).
 */
import { cpus, loadavg, release } from "node:os";
import { healthChecksWorkload } from "./lib/health.js";

const help = `Usage: node bench/health-checks.js [--quick] [--runs LIST]

1,000 HealthMonitors (@procmgr/core) with a tcp check every second against one local listener,
in this process; the CPU of this process over the window, as a percentage of one core.

  --runs LIST   comma list of: monitors (listener in this process: the figure), apart (listener
                in another process), floor (plain Node doing the same connects), floor-apart
                (the same, listener in another process); default all
  --quick       5 s windows instead of 30

  BENCH_HEALTH_N=1000 monitors, BENCH_HEALTH_SECONDS=30 (quick 5) window,
  BENCH_HEALTH_SETTLE=5 (quick 2) seconds between the last start and the window,
  BENCH_HEALTH_INTERVAL=1 check interval in seconds
`;

const argv = process.argv.slice(2);
if (argv.includes("-h") || argv.includes("--help")) {
  process.stdout.write(help);
  process.exit(0);
}
const quick = argv.includes("--quick");
const runsAt = argv.indexOf("--runs");
const num = (name, full, short) => {
  const v = process.env[name];
  return v !== undefined && v !== "" ? Number(v) : quick ? short : full;
};
const cfg = {
  n: num("BENCH_HEALTH_N", 1000, 1000),
  seconds: num("BENCH_HEALTH_SECONDS", 30, 5),
  settleSeconds: num("BENCH_HEALTH_SETTLE", 5, 2),
  intervalSec: num("BENCH_HEALTH_INTERVAL", 1, 1),
  runs: (runsAt >= 0 ? (argv[runsAt + 1] ?? "") : "monitors,apart,floor,floor-apart").split(","),
};
const log = (s) => process.stderr.write(`${s}\n`);

const load0 = loadavg();
log(`health checks: ${cfg.n} monitors, tcp every ${cfg.intervalSec} s`);
const results = await healthChecksWorkload(cfg, log);
const load1 = loadavg();
const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
const rows = [
  ["CPU of this process, % of one core", (r) => `**${f(r.cpuPercent, 2)}**`],
  ["of which user / system", (r) => `${f(r.cpuUserPercent, 2)} / ${f(r.cpuSystemPercent, 2)}`],
  ["checks per second (connections accepted)", (r) => f(r.checksPerSecond)],
  ["CPU per check (µs)", (r) => f(r.cpuMicrosPerCheck)],
  ["event loop utilisation (%)", (r) => f(r.eventLoopUtilization * 100, 2)],
  ["healthy at the end / unhealthy events", (r) => `${r.healthyAtEnd} / ${r.unhealthyEvents}`],
  ["onChange calls in the window", (r) => f(r.onChangeInWindow, 0)],
  ["sockets in TIME_WAIT to the listener's port", (r) => String(r.timeWaitSockets)],
  ["RSS of this process (MiB)", (r) => f(r.rssMiB)],
];
const figure = results.find((r) => r.title === "monitors");
process.stdout.write(
  [
    "",
    `## ${cfg.n} tcp health checks, every ${cfg.intervalSec} s (${new Date().toISOString().slice(0, 10)}${quick ? ", quick" : ""})`,
    "",
    `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), kernel ${release()}, Node ${process.version}. Load average ${load0.map((x) => x.toFixed(2)).join(" ")} at the start, ${load1.map((x) => x.toFixed(2)).join(" ")} at the end. Windows of ${f(results[0]?.windowSeconds)} s.`,
    "",
    `| figure | ${results.map((r) => r.title).join(" | ")} |`,
    `| --- | ${results.map(() => "---").join(" | ")} |`,
    ...rows.map(([label, cell]) => `| ${label} | ${results.map(cell).join(" | ")} |`),
    "",
    figure === undefined
      ? ""
      : `Target (issue 15): ${cfg.n} monitors under 10% of one core: ${f(figure.cpuPercent, 2)}% — ${figure.cpuPercent < 10 ? "MET" : "MISSED"}.`,
    "",
  ].join("\n"),
);
