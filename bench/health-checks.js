#!/usr/bin/env node
/**
 * node bench/health-checks.js [--quick] [--runs LIST] [--profile]: 1,000 processes with 1 s tcp
 * checks under the real daemon, and 1,000 HealthMonitors in this process, and the CPU they cost
 * (see lib/health.js and bench/README.md). Needs `pnpm build` (the daemon's and the CLI's dist,
 * packages/core/dist).
 */
import { cpus, loadavg, release } from "node:os";
import { healthChecksWorkload, healthCleanup } from "./lib/health.js";

const help = `Usage: node bench/health-checks.js [--quick] [--runs LIST] [--profile]

1,000 processes with a tcp check every second against one local listener, under the real
dd-procmgrd: the daemon's CPU over the window (/proc/<pid>/stat), as a percentage of one core.
Then 1,000 HealthMonitors (@procmgr/core) doing the same in this process, and plain Node.

  --runs LIST   comma list of: daemon (dd-procmgrd with 1,000 sleeps, listener in another
                process: the figure), daemon-idle (the same without health checks: not in
                the default set), monitors (HealthMonitors and listener in this process),
                apart (listener in another process), floor (plain Node doing the same
                connects), floor-apart (the same, listener in another process); default all
  --profile     the daemon runs as node --cpu-prof (the daemon only): the hottest functions
                of the window are printed (its CPU figure includes the profiler's cost: not
                the figure)
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
  runs: (runsAt >= 0 ? (argv[runsAt + 1] ?? "") : "daemon,monitors,apart,floor,floor-apart").split(
    ",",
  ),
  profile: argv.includes("--profile"),
};
const log = (s) => process.stderr.write(`${s}\n`);

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    log(`\n${sig}: stopping the daemon and every process this run started ...`);
    healthCleanup().then(
      (left) => {
        log(left.length === 0 ? "nothing left behind" : `killed leftovers: ${left.join(", ")}`);
        process.exit(130);
      },
      () => process.exit(130),
    );
  });
}

const load0 = loadavg();
log(`health checks: ${cfg.n} checks, tcp every ${cfg.intervalSec} s`);
let results;
try {
  results = await healthChecksWorkload(cfg, log);
} catch (e) {
  log(`health checks failed: ${e.stack ?? e}`);
  const left = await healthCleanup();
  if (left.length > 0) log(`killed leftovers: ${left.join(", ")}`);
  process.exit(1);
}
const left = await healthCleanup();
const load1 = loadavg();
const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
const d = (r, k, fmt) => (r.daemon === undefined ? "" : fmt(r.daemon[k]));
const rows = [
  ["CPU of the process (the daemon / this one), % of one core", (r) => `**${f(r.cpuPercent, 2)}**`],
  ["of which user / system", (r) => `${f(r.cpuUserPercent, 2)} / ${f(r.cpuSystemPercent, 2)}`],
  ["checks per second (connections accepted)", (r) => f(r.checksPerSecond)],
  ["CPU per check (µs)", (r) => f(r.cpuMicrosPerCheck)],
  ["event loop utilisation (%)", (r) => f(r.eventLoopUtilization * 100, 2)],
  ["healthy at the end / unhealthy events", (r) => `${r.healthyAtEnd} / ${r.unhealthyEvents}`],
  ["onChange calls in the window", (r) => f(r.onChangeInWindow, 0)],
  ["sockets in TIME_WAIT to the listener's port", (r) => String(r.timeWaitSockets)],
  ["RSS of the process (MiB)", (r) => f(r.rssMiB)],
  [
    "whole machine in the window: busy (every process) / steal, % of one core",
    (r) => `${f(r.machine.busyPercent)} / ${f(r.machine.stealPercent)}`,
  ],
  ["daemon: threads", (r) => d(r, "threads", String)],
  [
    "daemon: all running / all healthy after (s)",
    (r) =>
      d(r, "startedSeconds", f) && `${f(r.daemon.startedSeconds)} / ${f(r.daemon.healthySeconds)}`,
  ],
  [
    "daemon: running at the end / restarts",
    (r) => d(r, "runningAtEnd", String) && `${r.daemon.runningAtEnd} / ${r.daemon.restartsAtEnd}`,
  ],
  ["daemon: sleeps left after its SIGTERM", (r) => d(r, "sleepsLeftAfterShutdown", String)],
];
const figure =
  results.find((r) => r.daemon?.withChecks) ?? results.find((r) => r.title === "monitors");
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
      : `Target (issue 15): ${cfg.n} processes each with a ${cfg.intervalSec} s tcp check under 10% of one core (${figure.title}): ${f(figure.cpuPercent, 2)}% — ${figure.cpuPercent < 10 ? "MET" : "MISSED"}.`,
    "",
    left.length === 0
      ? "Cleanup: nothing left (tracked pids + environment marker scan)."
      : `Cleanup: LEFT BEHIND (killed): ${left.join(", ")}`,
    "",
  ].join("\n"),
);
