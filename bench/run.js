#!/usr/bin/env node
/**
 * pnpm bench: ours (dd-procmgrd + pm-cli) side by side with PM2 and supervisord (issues 5, 13).
 * See bench/README.md. Every daemon and child it starts is stopped by PID before it exits,
 * on Ctrl-C too, and a final scan proves nothing is left.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { oursAdapter } from "./adapters/ours.js";
import { pm2Adapter, pm2Version } from "./adapters/pm2.js";
import { supervisordAdapter } from "./adapters/supervisord.js";
import { killTracked, markerKey, run, runId, stopSpawning, trackedAlive } from "./lib/exec.js";
import { pidsWithEnv, readStat, sleep } from "./lib/proc.js";
import { summarizeProfile } from "./lib/profile.js";
import { Results } from "./lib/results.js";
import { renderTable, renderTargets, summarize } from "./lib/stats.js";
import {
  crashLoopFloor,
  crashLoopWorkload,
  firehoseWorkload,
  nodeFloor,
  soakWorkload,
} from "./lib/sustained.js";
import {
  lifecycleWorkload,
  logsWorkload,
  lowerBounds,
  restartWorkload,
  scaleWorkload,
} from "./lib/workloads.js";

const benchDir = dirname(fileURLToPath(import.meta.url));
const repo = dirname(benchDir);
const toolsDir = join(benchDir, ".tools");
const allTools = ["ours", "pm2", "supervisord"];

const help = `Usage: pnpm bench [-- options]   (or: node bench/run.js [options])

Runs the same workloads on ours (dd-procmgrd + pm-cli), PM2 ${pm2Version} (npm, into bench/.tools)
and supervisord (Debian's supervisor package), one tool at a time, and prints one table:
min / median / max of every figure for every tool, our ratio to the best of the others, and
issue 13's targets marked met or missed (then the issue 5 targets it did not replace).

Workloads: 1 daemon RSS, 2 start/stop N, 3 restart after SIGKILL, 4 CLI list, 5 logs,
6 scale (start, list, idle CPU, stop of 1,000), 7 lower bounds (plain Node, sh, the writer),
8 crash loop, 9 log firehose, 10 soak, 11 bare Node's RSS (a lower bound).

Options:
  --quick              small counts for a fast run (also BENCH_QUICK=1)
  --tools LIST         comma list of ours,pm2,supervisord (BENCH_TOOLS; default all)
  --workloads LIST     comma list of 1-11 (BENCH_WORKLOADS; 1, 2 and 4 run together)
  --soak MINUTES       length of the soak (workload 10; BENCH_SOAK_SECONDS; default 1 min,
                       quick 15 s)
  --json FILE          also write the raw results as JSON (default bench/.work/results.json)
  --no-install         do not install PM2 / supervisord when missing
  --ours-js            run ours from the repo's bin scripts even when dist-bin exists
                       (BENCH_OURS_JS=1)
  --profile            run our daemon under \`node --cpu-prof\` (implies --ours-js) and print
                       the hottest functions of its profile at the end (BENCH_PROFILE=1)
  -h, --help           this text

Counts (environment; full / quick defaults):
  BENCH_N=100/10 BENCH_CYCLES=5/2 BENCH_LIST_RUNS=20/5 BENCH_RESTART_TRIES=20/5
  BENCH_LOG_LINES=2000000/200000 BENCH_LOG_RUNS=3/1 BENCH_SCALE_N=1000/50
  BENCH_SCALE_LIST_RUNS=5/3 BENCH_IDLE_SECONDS=10/2
  8 crash loop: BENCH_CRASH_EXITS=10000/1000 exits, BENCH_CRASH_CAP_SECONDS=180/20 time cap
  9 firehose: BENCH_FH_N=50/10 writers, BENCH_FH_SECONDS=60/10 each, BENCH_FH_LISTS=20/10
  10 soak: BENCH_SOAK_N=100/20 processes, BENCH_SOAK_SECONDS=60/15, BENCH_SOAK_KILL_MS=100/100
  11 bare Node: BENCH_NODE_FLOOR_RUNS=3/1
  BENCH_OURS_NODE_OPTIONS="--max-semi-space-size=1" passes NODE_OPTIONS to our daemon only
  BENCH_PAIRED=0 skips re-running the plain-Node / writer floors before each tool's runs

Everything runs under bench/.work (PM2_HOME, supervisord socket/pidfile/logs, our state dir,
socket and a free 127.0.0.1 port). Needs root for apt-get when supervisord is missing.
`;

/** The bench's own settings (not build inputs, so not turbo env). */
const benchEnv = (name) => process.env[name];

function parseArgs(argv) {
  const o = {
    quick: benchEnv("BENCH_QUICK") === "1",
    install: true,
    oursJs: benchEnv("BENCH_OURS_JS") === "1",
    profile: benchEnv("BENCH_PROFILE") === "1",
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") o.help = true;
    else if (a === "--quick") o.quick = true;
    else if (a === "--no-install") o.install = false;
    else if (a === "--ours-js") o.oursJs = true;
    else if (a === "--profile") o.profile = true;
    else if (a === "--tools") o.tools = argv[++i];
    else if (a === "--workloads") o.workloads = argv[++i];
    else if (a === "--soak") o.soakMinutes = Number(argv[++i]);
    else if (a === "--json") o.json = argv[++i];
    else if (a === "--") continue;
    else throw new Error(`unknown option ${a} (see --help)`);
  }
  return o;
}

function config(o) {
  const q = o.quick;
  const num = (name, full, quick) => {
    const v = process.env[name];
    return v !== undefined && v !== "" ? Number(v) : q ? quick : full;
  };
  const tools = (o.tools ?? benchEnv("BENCH_TOOLS") ?? allTools.join(",")).split(",");
  for (const t of tools) if (!allTools.includes(t)) throw new Error(`unknown tool ${t}`);
  const workloads = new Set(
    (o.workloads ?? benchEnv("BENCH_WORKLOADS") ?? "1,2,3,4,5,6,7,8,9,10,11")
      .split(",")
      .map(Number),
  );
  for (const w of workloads) if (!(w >= 1 && w <= 11)) throw new Error(`unknown workload ${w}`);
  if (o.soakMinutes !== undefined && !(o.soakMinutes > 0)) throw new Error("--soak needs minutes");
  return {
    quick: q,
    tools,
    workloads,
    work: join(benchDir, ".work", "run"),
    n: num("BENCH_N", 100, 10),
    cycles: num("BENCH_CYCLES", 5, 2),
    listRuns: num("BENCH_LIST_RUNS", 20, 5),
    restartTries: num("BENCH_RESTART_TRIES", 20, 5),
    restartGapMs: 200,
    logLines: num("BENCH_LOG_LINES", 2_000_000, 200_000),
    logRuns: num("BENCH_LOG_RUNS", 3, 1),
    scaleN: num("BENCH_SCALE_N", 1000, 50),
    scaleListRuns: num("BENCH_SCALE_LIST_RUNS", 5, 3),
    idleSeconds: num("BENCH_IDLE_SECONDS", 10, 2),
    crashExits: num("BENCH_CRASH_EXITS", 10_000, 1_000),
    crashCapSeconds: num("BENCH_CRASH_CAP_SECONDS", 180, 20),
    fhN: num("BENCH_FH_N", 50, 10),
    fhSeconds: num("BENCH_FH_SECONDS", 60, 10),
    fhLists: num("BENCH_FH_LISTS", 20, 10),
    soakN: num("BENCH_SOAK_N", 100, 20),
    soakSeconds:
      o.soakMinutes !== undefined ? o.soakMinutes * 60 : num("BENCH_SOAK_SECONDS", 60, 15),
    soakKillMs: num("BENCH_SOAK_KILL_MS", 100, 100),
    nodeFloorRuns: num("BENCH_NODE_FLOOR_RUNS", 3, 1),
    settleMs: q ? 500 : 2000,
    // Run the plain-Node and writer-to-file floors again right before each tool's own runs, so
    // the ratio targets compare with a floor taken under the same machine load.
    paired: benchEnv("BENCH_PAIRED") !== "0",
  };
}

const log = (s) => process.stderr.write(`${s}\n`);

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: "utf8" }).trim();
  } catch {
    return "?";
  }
}

/** The "cpu" line of /proc/stat: all jiffies and the steal jiffies (time the hypervisor took). */
function cpuJiffies() {
  const fields =
    readFileSync("/proc/stat", "utf8").split("\n")[0]?.trim().split(/\s+/).slice(1) ?? [];
  const n = fields.map(Number);
  return { total: n.reduce((a, b) => a + b, 0), steal: n[7] ?? 0 };
}

/** Percentage of CPU time the hypervisor took between two `cpuJiffies()` readings. */
function stealPercent(from, to) {
  const total = to.total - from.total;
  return total > 0 ? ((100 * (to.steal - from.steal)) / total).toFixed(1) : "?";
}

export function machine() {
  const mem = sh("free", ["-h"]).split("\n")[1]?.split(/\s+/)[1] ?? "?";
  return {
    date: new Date().toISOString().slice(0, 10),
    nproc: sh("nproc", []),
    cpu: cpus()[0]?.model ?? "?",
    memory: `${mem} (free -h total; ${(totalmem() / 2 ** 30).toFixed(1)} GiB)`,
    kernel: sh("uname", ["-r"]),
    node: process.version,
    load: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
    jiffies: cpuJiffies(),
    // Whether the tools ran with the machine's NODE_EXTRA_CA_CERTS (lib/exec.js toolEnv).
    nodeExtraCaCerts:
      benchEnv("NODE_EXTRA_CA_CERTS") === undefined
        ? "not set"
        : benchEnv("BENCH_KEEP_NODE_EXTRA_CA_CERTS") === "1"
          ? "kept"
          : "set here, left out of the tools' environment",
  };
}

async function ensurePm2() {
  const pkg = join(toolsDir, "node_modules", "pm2", "package.json");
  if (existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).version === pm2Version) return;
  log(`installing pm2@${pm2Version} into bench/.tools ...`);
  mkdirSync(toolsDir, { recursive: true });
  await run(
    "npm",
    [
      "install",
      "--prefix",
      toolsDir,
      "--no-audit",
      "--no-fund",
      "--save-exact",
      `pm2@${pm2Version}`,
    ],
    { env: process.env, timeoutMs: 600_000 },
  );
}

async function ensureSupervisord() {
  if (sh("sh", ["-c", "command -v supervisord"]) !== "?") return;
  if (process.getuid?.() !== 0) {
    throw new Error("supervisord is missing: run `sudo apt-get install -y supervisor` first");
  }
  log("installing Debian's supervisor package (apt-get) ...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }; // installs: full environment
  await run("apt-get", ["update"], { env, timeoutMs: 600_000 });
  // The package's postinst may try to start the system service: without systemd (and with
  // policy-rc.d) that fails harmlessly. The bench never uses the system service.
  await run("apt-get", ["install", "-y", "supervisor"], { env, timeoutMs: 600_000 });
}

const workloadKeys = {
  1: [
    "rss_idle",
    "rss_idle_anon",
    "rss_n",
    "rss_n_anon",
    "rss_cycles",
    "start_n",
    "stop_n",
    "list_n",
  ],
  3: ["restart"],
  5: ["log_block_time", "log_block_cpu", "log_line_time", "log_line_cpu"],
  6: ["scale_start", "scale_list", "scale_rss", "scale_cpu", "scale_stop"],
  8: ["crash_rate", "crash_cpu", "crash_rss500", "crash_rss_peak"],
  9: ["fh_rate", "fh_lossless", "fh_cpu", "fh_cpu_mib", "fh_list_p50", "fh_list_p99"],
  10: ["soak_rss_start", "soak_rss_end", "soak_rss_peak", "soak_growth"],
};

/**
 * What both target lists share: medians of this run, a verdict per target ("n/a" when ours did
 * not run or a figure is missing), and the floors paired with ours' own runs.
 */
function targetKit(R, toolsRun) {
  const m = (k, t) => R.median(k, t);
  const has = toolsRun.includes("ours");
  const out = [];
  const push = (target, ok, value) =>
    out.push({ target, value, verdict: !has || Number.isNaN(ok) ? "n/a" : ok ? "met" : "missed" });
  const f = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
  /** The floor measured right before ours' own runs, else the run-wide one. */
  const paired = (k) => {
    const xs = R.extras[`paired.ours.${k}`];
    return Array.isArray(xs) ? (summarize(xs)?.median ?? Number.NaN) : m(k, "bound");
  };
  /** NaN (n/a) unless every value is a finite number, else the comparison. */
  const when = (values, ok) => (values.every((x) => Number.isFinite(x)) ? ok() : Number.NaN);
  return { m, f, out, push, paired, when };
}

/** Issue 13's targets, judged on medians of this run. */
function judge13(R, cfg, toolsRun) {
  const { m, f, out, push, paired, when } = targetKit(R, toolsRun);
  const ratio = (a, b) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : "n/a");

  const peak = m("crash_rss_peak", "ours");
  const at500 = m("crash_rss500", "ours");
  push(
    "crash loop: peak RSS at most 1.3x the RSS after 500 exits",
    when([peak, at500], () => peak <= 1.3 * at500),
    `${f(peak, 1)} MiB vs ${f(at500, 1)} MiB = ${ratio(peak, at500)}`,
  );
  const rate = m("crash_rate", "ours");
  const others = ["pm2", "supervisord"].filter((t) => Number.isFinite(m("crash_rate", t)));
  const best = Math.max(...others.map((t) => m("crash_rate", t)));
  push(
    "crash loop: at least as many exits per second as the faster of PM2 and supervisord",
    when([rate, best], () => rate >= best),
    `${f(rate)}/s vs ${others.map((t) => `${t} ${f(m("crash_rate", t))}/s`).join(", ") || "n/a"}`,
  );

  const start = m("soak_rss_start", "ours");
  const soakPeak = m("soak_rss_peak", "ours");
  push(
    "soak: peak RSS at most 1.2x the start",
    when([start, soakPeak], () => soakPeak <= 1.2 * start),
    `${f(soakPeak, 1)} MiB vs ${f(start, 1)} MiB = ${ratio(soakPeak, start)}`,
  );
  const growth = m("soak_growth", "ours");
  push(
    "soak: extrapolated RSS growth under 1 MiB per hour",
    when([growth], () => growth < 1),
    `${f(growth, 1)} MiB/h over ${f(cfg.soakSeconds)} s`,
  );

  const flag = R.fig("fh_lossless").flags.ours;
  push(
    "log firehose: lossless",
    flag === undefined ? Number.NaN : flag.startsWith("yes"),
    flag ?? "n/a",
  );
  const cpuMib = m("fh_cpu_mib", "ours");
  const supCpuMib = m("fh_cpu_mib", "supervisord");
  push(
    "log firehose: daemon CPU per delivered MiB at most supervisord's",
    when([cpuMib, supCpuMib], () => cpuMib <= supCpuMib),
    `${f(cpuMib, 1)} ms vs supervisord ${f(supCpuMib, 1)} ms = ${ratio(cpuMib, supCpuMib)}`,
  );
  const p99 = m("fh_list_p99", "ours");
  push(
    "log firehose: list p99 under 500 ms while it runs",
    when([p99], () => p99 < 500),
    `${f(p99)} ms`,
  );

  // Ahead of PM2: ours' median below PM2's median.
  const ahead = [
    ["start_n", `start ${cfg.n}`, "ms", 0],
    ["stop_n", `stop ${cfg.n}`, "ms", 0],
    ["scale_start", `start ${cfg.scaleN.toLocaleString("en-US")}`, "s", 2],
    ["scale_stop", `stop ${cfg.scaleN.toLocaleString("en-US")}`, "s", 2],
    ["restart", "restart after SIGKILL", "ms", 1],
    ["list_n", `list of ${cfg.n}`, "ms", 0],
    ["scale_list", `list of ${cfg.scaleN.toLocaleString("en-US")}`, "ms", 0],
    ["rss_n", `RSS with ${cfg.n} running`, "MiB", 1],
    ["scale_rss", `RSS with ${cfg.scaleN.toLocaleString("en-US")} running`, "MiB", 1],
    ["log_block_time", "logs, large writes (time)", "s", 2],
    ["log_line_time", "logs, one write per line (time)", "s", 2],
  ];
  for (const [key, what, unit, d] of ahead) {
    const ours = m(key, "ours");
    const pm2 = m(key, "pm2");
    push(
      `ahead of PM2: ${what}`,
      when([ours, pm2], () => ours < pm2),
      `${f(ours, d)} ${unit} vs PM2 ${f(pm2, d)} ${unit} = ${ratio(ours, pm2)}`,
    );
  }

  const nodeStart = paired("bound_node_start");
  const startN = m("start_n", "ours");
  push(
    `start ${cfg.n} within 1.5x of plain Node spawning ${cfg.n}`,
    when([startN, nodeStart], () => startN <= 1.5 * nodeStart),
    `${f(startN)} ms vs 1.5 x ${f(nodeStart)} ms = ${ratio(startN, nodeStart)}`,
  );
  const rs = m("restart", "ours");
  const nodeRs = m("bound_restart", "bound");
  push(
    "restart after SIGKILL within 1.5x of plain Node's respawn",
    when([rs, nodeRs], () => rs <= 1.5 * nodeRs),
    `${f(rs, 2)} ms vs 1.5 x ${f(nodeRs, 2)} ms = ${ratio(rs, nodeRs)}`,
  );
  return out;
}

/**
 * Issue 5's targets that issue 13 did not replace (its "start within 2x of plain Node" is now
 * "within 1.5x"), judged on medians of this run.
 */
function judge5(R, cfg, toolsRun) {
  const { m, f, out, push, paired } = targetKit(R, toolsRun);
  const stop = m("stop_n", "ours");
  push(
    `stop ${cfg.n} under 150 ms`,
    Number.isFinite(stop) ? stop < 150 : Number.NaN,
    `${f(stop)} ms`,
  );
  const rs = m("restart", "ours");
  push(
    "restart after SIGKILL under 10 ms",
    Number.isFinite(rs) ? rs < 10 : Number.NaN,
    `${f(rs, 1)} ms`,
  );
  const list = m("list_n", "ours");
  const pm2List = m("list_n", "pm2");
  push(
    "list round trip under half of PM2's",
    Number.isFinite(list * pm2List) ? list < pm2List / 2 : Number.NaN,
    `${f(list)} ms vs PM2 ${f(pm2List)} ms = ${(list / pm2List).toFixed(2)}x`,
  );
  const rssN = m("rss_n", "ours");
  const pm2Idle = m("rss_idle", "pm2");
  push(
    `RSS with ${cfg.n} running at most PM2's idle RSS`,
    Number.isFinite(rssN * pm2Idle) ? rssN <= pm2Idle : Number.NaN,
    `${f(rssN, 1)} MiB vs PM2 idle ${f(pm2Idle, 1)} MiB`,
  );
  // The first cycle grows V8's heap to its working size; a leak keeps growing after it. So:
  // RSS after the last cycle within 5% of RSS after the second (the first with 2 cycles).
  const cycles = R.extras["rss_after_each_cycle.ours"];
  const ref = Array.isArray(cycles) ? cycles[Math.min(1, cycles.length - 1)] : Number.NaN;
  const after = Array.isArray(cycles) ? cycles[cycles.length - 1] : Number.NaN;
  push(
    "RSS flat across cycles (after the last cycle within 5% of after the second)",
    Number.isFinite(after * ref) ? after <= ref * 1.05 : Number.NaN,
    `idle ${f(m("rss_idle", "ours"), 1)}, after each cycle ${Array.isArray(cycles) ? cycles.map((c) => f(c, 1)).join(", ") : "n/a"} MiB`,
  );
  for (const mode of ["block", "line"]) {
    const flag = R.fig(`log_${mode}_lossless`).flags.ours;
    push(
      `logs (${mode === "block" ? "large writes" : "one write per line"}) lossless`,
      flag === undefined ? Number.NaN : flag.startsWith("yes"),
      flag ?? "n/a",
    );
    const t = m(`log_${mode}_time`, "ours");
    const b = paired(`bound_log_${mode}`);
    push(
      `logs (${mode === "block" ? "large writes" : "one write per line"}) at most 1.2x the writer to a file`,
      Number.isFinite(t * b) ? t <= 1.2 * b : Number.NaN,
      `${f(t, 2)} s vs ${f(b, 2)} s = ${(t / b).toFixed(2)}x`,
    );
  }
  const sl = m("scale_list", "ours");
  push(
    `${cfg.scaleN} processes listed in under 200 ms`,
    Number.isFinite(sl) ? sl < 200 : Number.NaN,
    `${f(sl)} ms`,
  );
  const cpu = m("scale_cpu", "ours");
  push(
    `idle CPU with ${cfg.scaleN} processes under 1%`,
    Number.isFinite(cpu) ? cpu < 1 : Number.NaN,
    `${f(cpu, 2)} %`,
  );
  return out;
}

const active = new Set();
let cleaning = null;

/** Stop every daemon still up, then every pid we tracked or that carries our marker. */
function cleanup() {
  if (cleaning !== null) return cleaning;
  cleaning = (async () => {
    stopSpawning();
    for (const a of active) {
      try {
        await Promise.race([a.shutdown(), sleep(90_000)]);
      } catch (e) {
        log(`cleanup: ${a.id} shutdown: ${e.message}`);
      }
      active.delete(a);
    }
    return sweep();
  })();
  return cleaning;
}

/** Kill anything left of ours (tracked pid with the same start time, or our env marker). */
async function sweep() {
  const left = new Map();
  for (const t of trackedAlive()) left.set(t.pid, t.what);
  for (const pid of pidsWithEnv(markerKey, runId)) {
    const s = readStat(pid);
    if (s !== null && s.state !== "Z" && !left.has(pid)) left.set(pid, `${s.comm} (marker)`);
  }
  if (left.size === 0) return [];
  for (const pid of left.keys()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
    killTracked(pid, "SIGKILL");
  }
  await sleep(200);
  return [...left].map(([pid, what]) => `${pid} ${what}`);
}

/** Shut a tool's daemon down (every child stopped by pid after it) and start a new one. */
async function restartDaemon(a, R) {
  await a.shutdown();
  const left = await sweep();
  if (left.length > 0)
    R.note(`${a.id}: left processes behind at a restart (killed): ${left.join(", ")}`);
  await a.start();
  log(`  (a fresh daemon: pid ${a.pid})`);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    process.stdout.write(help);
    return 0;
  }
  const cfg = config(o);
  const m = machine();
  log(
    `bench ${cfg.quick ? "(quick) " : ""}${m.date}: ${m.nproc} cores ${m.cpu}, ${m.memory}, kernel ${m.kernel}, node ${m.node}`,
  );
  rmSync(cfg.work, { recursive: true, force: true });
  mkdirSync(cfg.work, { recursive: true });
  const R = new Results(cfg);
  const profileDir = o.profile ? join(cfg.work, "profiles") : undefined;
  const nodeOptions = benchEnv("BENCH_OURS_NODE_OPTIONS");
  const ctx = { work: cfg.work, toolsDir, repo, oursJs: o.oursJs, profileDir, nodeOptions };

  if (o.install) {
    if (cfg.tools.includes("pm2")) await ensurePm2();
    if (cfg.tools.includes("supervisord")) await ensureSupervisord();
  }
  const tools = [];
  const make = {
    ours: () => oursAdapter(ctx),
    pm2: () => pm2Adapter(ctx),
    supervisord: () => supervisordAdapter(ctx),
  };

  const t0 = Date.now();
  const floors = [
    [7, "workload 7: lower bounds", lowerBounds],
    [8, "workload 8's floor: plain Node's crash loop", crashLoopFloor],
    [11, "workload 11: bare Node's RSS", nodeFloor],
  ];
  for (const [w, title, fn] of floors) {
    if (!cfg.workloads.has(w)) continue;
    log(title);
    try {
      await fn(cfg, R, log);
    } catch (e) {
      if (cleaning !== null) throw e;
      log(`${title} FAILED: ${e.message}`);
      R.note(`${title} failed: ${e.message}`);
    }
    const left = await sweep();
    if (left.length > 0) R.note(`${title} left processes behind (killed): ${left.join(", ")}`);
  }
  for (const id of allTools.filter((t) => cfg.tools.includes(t)).reverse()) {
    let a;
    try {
      a = make[id]();
    } catch (e) {
      log(`${id}: skipped: ${e.message}`);
      R.note(`${id}: skipped: ${e.message}`);
      continue;
    }
    tools.unshift({ id: a.id, label: a.label, how: a.how });
    log(`${a.id}: starting daemon${a.how ? ` (${a.how})` : ""}`);
    active.add(a);
    try {
      await a.start();
      tools[0].label = a.label;
      // The sustained workloads (8-10) each get a fresh daemon: their RSS figures (start of the
      // soak, after 500 exits) are baselines, which must not depend on what ran before them.
      const steps = [
        [[1, 2, 4], "workloads 1, 2, 4: RSS, start/stop, list", lifecycleWorkload, workloadKeys[1]],
        [[3], "workload 3: restart after SIGKILL", restartWorkload, workloadKeys[3]],
        [[5], "workload 5: logs", logsWorkload, workloadKeys[5]],
        [[6], "workload 6: scale", scaleWorkload, workloadKeys[6]],
        [[8], "workload 8: crash loop", crashLoopWorkload, workloadKeys[8], "fresh"],
        [[9], "workload 9: log firehose", firehoseWorkload, workloadKeys[9], "fresh"],
        [[10], "workload 10: soak", soakWorkload, workloadKeys[10], "fresh"],
      ];
      let used = false;
      for (const [ws, title, fn, keys, fresh] of steps) {
        if (!ws.some((w) => cfg.workloads.has(w))) continue;
        log(`${a.id}: ${title}`);
        try {
          if (fresh && used) await restartDaemon(a, R);
          used = true;
          await fn(a, cfg, R, log);
        } catch (e) {
          if (cleaning !== null) throw e;
          log(`${a.id}: ${title} FAILED: ${e.message}`);
          R.note(`${a.id}: ${title} failed: ${e.message}`);
          R.failed(keys, a.id, e.message.slice(0, 60));
          try {
            await a.deleteAll();
          } catch {}
        }
      }
    } catch (e) {
      if (cleaning !== null) throw e;
      log(`${a.id}: FAILED: ${e.message}`);
      R.note(`${a.id}: failed: ${e.message}`);
    } finally {
      if (cleaning === null) {
        await a.shutdown();
        active.delete(a);
        const left = await sweep();
        if (left.length > 0) {
          log(`${a.id}: LEFT BEHIND after shutdown (killed now): ${left.join(", ")}`);
          R.note(`${a.id}: left processes behind after shutdown: ${left.join(", ")}`);
        }
      }
    }
  }
  // Order the columns ours, pm2, supervisord.
  tools.sort((x, y) => allTools.indexOf(x.id) - allTools.indexOf(y.id));

  const toolIds = tools.map((t) => t.id);
  const targets = { issue13: judge13(R, cfg, toolIds), issue5: judge5(R, cfg, toolIds) };
  const table = renderTable(R.figures.values(), tools);
  const elapsed = ((Date.now() - t0) / 1000).toFixed(0);
  const left = await cleanup();
  const end = machine();
  const loadEnd = end.load;
  const steal = stealPercent(m.jiffies, end.jiffies);
  const ours = tools.find((t) => t.id === "ours");
  const out = [
    "",
    `## procmgr bench ${m.date}${cfg.quick ? " (QUICK run: small counts, not comparable)" : ""}`,
    "",
    `Machine: ${m.nproc} cores (${m.cpu}), memory ${m.memory}, kernel ${m.kernel}, Node ${m.node}. Load average ${m.load} at the start, ${loadEnd} at the end. CPU steal (time taken by the hypervisor) ${steal}% of the run. Run took ${elapsed} s. NODE_EXTRA_CA_CERTS: ${m.nodeExtraCaCerts}.`,
    `Ours: ${ours?.how ?? "not run"}. Figures are min / **median** / max; lower is better except where a row says "higher is better". "ours / best other" is below 1.00x where ours is ahead (on a higher-is-better row it is the best other over ours).`,
    "",
    table,
    "",
    renderTargets(targets.issue13, "issue 13"),
    "",
    renderTargets(targets.issue5, "issue 5, the ones issue 13 did not replace"),
    "",
    ...R.notes.map((n) => `- ${n}`),
    left.length === 0
      ? "Cleanup: every daemon and child stopped by PID; nothing left (tracked pids + environment marker scan)."
      : `Cleanup: LEFT BEHIND (killed at exit): ${left.join(", ")}`,
    "",
  ].join("\n");
  process.stdout.write(out);
  const json = o.json ?? join(benchDir, ".work", "results.json");
  writeFileSync(
    json,
    JSON.stringify(
      {
        machine: m,
        config: { ...cfg, workloads: [...cfg.workloads] },
        tools,
        targets,
        results: R,
        left,
      },
      null,
      1,
    ),
  );
  log(`raw results: ${json}`);
  if (profileDir !== undefined && existsSync(profileDir)) {
    for (const f of readdirSync(profileDir).filter((x) => x.endsWith(".cpuprofile"))) {
      process.stdout.write(`\nprofile ${join(profileDir, f)}:\n`);
      process.stdout.write(summarizeProfile(join(profileDir, f), 25));
    }
  }
  return left.length === 0 ? 0 : 1;
}

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    log(`\n${sig}: stopping every daemon and child this run started ...`);
    cleanup().then(
      (left) => {
        log(left.length === 0 ? "nothing left behind" : `killed leftovers: ${left.join(", ")}`);
        process.exit(130);
      },
      () => process.exit(130),
    );
  });
}

main().then(
  (code) => process.exit(code),
  async (e) => {
    if (cleaning !== null) return; // interrupted: the signal handler finishes and exits
    log(`bench failed: ${e.stack ?? e}`);
    const left = await cleanup();
    if (left.length > 0) log(`killed leftovers: ${left.join(", ")}`);
    process.exit(1);
  },
);
