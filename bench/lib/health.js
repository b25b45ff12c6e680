/**
 * Workload "1,000 tcp health checks" (issue 15): N processes, each with a tcp check every
 * second, against one local listener: what the checks cost the daemon. Not a comparison with
 * the other tools (they have no such checks to run the same way), so it is its own command
 * (`node bench/health-checks.js`) rather than a column of `pnpm bench`.
 *
 * Five runs by default, one after the other, each with its own listener, settling time and
 * window:
 *   - "daemon": the real dd-procmgrd (adapters/ours.js, as `pnpm bench` starts it) with N
 *     `sleep`s in its processes.yaml, `auto_start: true` and a tcp `health_check` every second
 *     against helpers/tcp-listener.js; CPU from /proc/<daemon>/stat (the figure, `daemonRun`);
 *   - "monitors": N HealthMonitors of @procmgr/core and the listener in this process;
 *   - "monitors, listener in another process" (helpers/tcp-listener.js): the monitors' own share;
 *   - "floor": plain Node doing the same connects (net.connect, reset once connected, again a
 *     second later) against a listener in this process: what any Node daemon pays for them;
 *   - "floor, listener in another process": the same against helpers/tcp-listener.js;
 * and on request "daemon-idle": the daemon with the same N processes and no health check.
 *
 * CPU is process.cpuUsage() (user + system of this process, all threads) over the window, as a
 * percentage of one core; for the daemon utime + stime of /proc/<pid>/stat (all its threads).
 * Checks are counted by the listener (one connection per check; the other process's answers
 * on SIGUSR1, read outside the window); event-loop utilisation by perf_hooks; TIME_WAIT
 * sockets to the listener's port from /proc/net/tcp at the end.
 */
import { once } from "node:events";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { cpus } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { oursAdapter } from "../adapters/ours.js";
import { killTracked, markerKey, runId, startBackground, track, trackedAlive } from "./exec.js";
import { clockTicks, exists, now, pidsWithEnv, readStat, rssBytes, sleep } from "./proc.js";
import { summarizeProfile } from "./profile.js";
import { sleepSpecs, waitChildren, waitGone } from "./workloads.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const repo = join(here, "..", "..");
const coreDist = join(repo, "packages", "core", "dist", "index.js");
const listenerScript = join(here, "..", "helpers", "tcp-listener.js");
const workDir = join(here, "..", ".work");

/** The "cpu" line of /proc/stat: all jiffies of the machine, busy ones, steal. */
function machineJiffies() {
  const f = readFileSync("/proc/stat", "latin1").split("\n")[0].trim().split(/\s+/).slice(1);
  const v = f.map(Number);
  const total = v.slice(0, 8).reduce((x, y) => x + y, 0); // guest time is in user already
  return { total, busy: total - v[3] - v[4] - v[7], steal: v[7] };
}

/**
 * The whole machine over a window (all processes, all cores): busy and steal as a percentage of
 * one core, so that "another 40%" next to the figure says someone else was computing.
 */
function machineShare(j0, j1) {
  const cores = j1.total - j0.total;
  const n = cpus().length;
  return {
    busyPercent: cores > 0 ? ((j1.busy - j0.busy) / cores) * 100 * n : Number.NaN,
    stealPercent: cores > 0 ? ((j1.steal - j0.steal) / cores) * 100 * n : Number.NaN,
  };
}

/** Sockets in TIME_WAIT (state 06) with `port` at either end, from /proc/net/tcp. */
function timeWaitCount(port) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let n = 0;
  for (const line of readFileSync("/proc/net/tcp", "latin1").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[3] === "06" && (f[1]?.endsWith(hex) || f[2]?.endsWith(hex))) n++;
  }
  return n;
}

/** A listener in this process (pauseOnConnect: accept and close, nothing read), counting. */
async function localListener() {
  let accepted = 0;
  const l = { port: 0, accepted: async () => accepted, close: () => {} };
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    accepted++;
    socket.on("error", () => {});
    socket.destroy();
  });
  server.listen(0, "127.0.0.1", 4096);
  await once(server, "listening");
  l.port = server.address().port;
  l.close = () => server.close();
  return l;
}

/** helpers/tcp-listener.js in a child process (tracked, stopped by pid). */
async function childListener() {
  const child = startBackground(process.execPath, [listenerScript], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [chunk] = await once(child.stdout, "data");
  return {
    port: Number(String(chunk).trim()),
    accepted: async () => {
      const answer = once(child.stdout, "data");
      killTracked(child.pid, "SIGUSR1");
      return Number(String((await answer)[0]).trim());
    },
    close: () => killTracked(child.pid, "SIGTERM"),
  };
}

/** The tcp HealthCheck of the workload (the config's defaults, interval and port). */
function tcpCheck(port, intervalSec) {
  return {
    type: "tcp",
    intervalSec,
    timeoutSec: 5,
    retries: 3,
    startPeriodSec: 0,
    restartAfter: 0,
    method: "GET",
    expectedStatus: 200,
    host: "127.0.0.1",
    port,
    args: [],
  };
}

/** N HealthMonitors against `port`; `checks()` counts the results they had. */
async function monitorsOn(cfg, port) {
  const { HealthMonitor } = await import(coreDist);
  const check = tcpCheck(port, cfg.intervalSec);
  const counts = { changes: 0, unhealthy: 0 };
  const monitors = Array.from(
    { length: cfg.n },
    () =>
      new HealthMonitor({
        check,
        onChange: (s) => {
          counts.changes++;
          if (s.status === "unhealthy") counts.unhealthy++;
        },
      }),
  );
  return {
    start: (i) => monitors[i].start(),
    stop: () => {
      for (const m of monitors) m.stop();
    },
    healthy: () => monitors.filter((m) => m.snapshot().status === "healthy").length,
    counts,
  };
}

/** The floor: N loops of net.connect, reset once connected, again `intervalSec` later. */
function plainConnects(cfg, port) {
  let stopped = false;
  const loop = () => {
    if (stopped) return;
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.resetAndDestroy();
      setTimeout(loop, cfg.intervalSec * 1000);
    });
    socket.on("error", () => {});
  };
  return {
    start: () => loop(),
    stop: () => {
      stopped = true;
    },
    healthy: () => "n/a",
    counts: { changes: Number.NaN, unhealthy: "n/a" },
  };
}

/**
 * One run: `make(port)` gives N loops, started evenly over one interval (as processes started
 * one after another would be; all at once would be a burst of N connects against the
 * listener's backlog every second), then settling, then the window.
 */
async function measure(cfg, log, title, listener, loops) {
  const spread = (cfg.intervalSec * 1000) / cfg.n;
  const t0 = now();
  for (let i = 0; i < cfg.n; i++) {
    const due = t0 + i * spread;
    if (due > now() + 1) await sleep(due - now());
    loops.start(i);
  }
  log(`  ${title}: ${cfg.n} started; settling ${cfg.settleSeconds} s, measuring ${cfg.seconds} s`);
  await sleep(cfg.settleSeconds * 1000);
  const accepted0 = await listener.accepted();
  const changes0 = loops.counts.changes;
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const j0 = machineJiffies();
  const w0 = now();
  await sleep(cfg.seconds * 1000);
  const cpu = process.cpuUsage(cpu0);
  const j1 = machineJiffies();
  const wallMs = now() - w0;
  const elu = performance.eventLoopUtilization(elu0);
  const checks = (await listener.accepted()) - accepted0;
  const r = {
    title,
    windowSeconds: wallMs / 1000,
    cpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    cpuUserPercent: (cpu.user / 1000 / wallMs) * 100,
    cpuSystemPercent: (cpu.system / 1000 / wallMs) * 100,
    checksPerSecond: checks / (wallMs / 1000),
    cpuMicrosPerCheck: (cpu.user + cpu.system) / checks,
    eventLoopUtilization: elu.utilization,
    healthyAtEnd: loops.healthy(),
    onChangeInWindow: loops.counts.changes - changes0,
    unhealthyEvents: loops.counts.unhealthy,
    timeWaitSockets: timeWaitCount(listener.port),
    rssMiB: rssBytes(process.pid) / 1024 / 1024,
    machine: machineShare(j0, j1),
  };
  loops.stop();
  listener.close();
  await sleep(1500); // the last checks end, the listener closes
  return r;
}

/** Threads of a live process (`Threads:` of /proc/<pid>/status), NaN when it is gone. */
function threadCount(pid) {
  try {
    const m = /^Threads:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The daemon of the "daemon" run while it is up, for `healthCleanup` (Ctrl-C, a failure). */
let activeDaemon = null;
/** Its temporary directory, removed by `healthCleanup` too. */
let activeDir = null;

/**
 * Stop what the runs started and left (a Ctrl-C, a failure): the daemon with SIGTERM (it stops
 * its children), then SIGKILL to every tracked pid still alive and every process carrying the
 * run's marker (the managed `sleep`s have it in their environment). Returns what it killed.
 */
export async function healthCleanup() {
  if (activeDaemon !== null) {
    const a = activeDaemon;
    activeDaemon = null;
    await Promise.race([a.shutdown().catch(() => {}), sleep(70_000)]);
  }
  const left = new Map();
  for (const t of trackedAlive()) left.set(t.pid, t.what);
  for (const pid of pidsWithEnv(markerKey, runId)) {
    const st = readStat(pid);
    if (st !== null && st.state !== "Z" && !left.has(pid)) left.set(pid, `${st.comm} (marker)`);
  }
  for (const pid of left.keys()) {
    killTracked(pid, "SIGKILL");
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  if (activeDir !== null) {
    rmSync(activeDir, { recursive: true, force: true });
    activeDir = null;
  }
  return [...left].map(([pid, what]) => `${pid} ${what}`);
}

/**
 * "Health gate": a oneshot (`/bin/true`, never auto-started) that `requires` all N. A manual
 * start of it waits for each running dependency's health to be known (the supervisor's
 * `unmetDependency` → `settledHealth`) and fails it when one is unhealthy; `pm-cli start`
 * exits 1 with the reason then. The daemon's API has no health field (ProcessStatus), so this is
 * how the bench asks the daemon itself whether all N are healthy.
 */
const gateName = "zz-health-gate";

/** `pm-cli start` of the gate: `ok` when all N were healthy, else `why` not. */
async function healthGate(a) {
  const r = await a.cli(["start", gateName], { check: false });
  if (r.code === 0) return { ok: true, ms: r.ms, why: "" };
  return { ok: false, ms: r.ms, why: (r.stderr || r.stdout).trim().slice(0, 300) };
}

/** `pm-cli list -o json`: how many of `names` run with one of `pids`, and their restarts. */
async function listedRunning(a, names, pids) {
  const list = JSON.parse((await a.list()).stdout);
  const want = new Set(names);
  const pidSet = new Set(pids);
  let running = 0;
  let restarts = 0;
  for (const p of list) {
    if (!want.has(p.name)) continue;
    if (p.state === "running" && pidSet.has(p.pid)) running++;
    restarts += p.restarts ?? 0;
  }
  return { running, restarts };
}

/**
 * The "daemon" run: dd-procmgrd started by adapters/ours.js (private config, state dir, runtime
 * dir, socket and 127.0.0.1 port under a temporary directory in bench/.work; the repo's
 * `node apps/daemon/bin/dd-procmgrd.js` and `node apps/cli/bin/pm-cli.js`) with a processes.yaml
 * of N `/bin/sleep 100000`, `auto_start: true`, each with
 * `health_check: { type: tcp, host: 127.0.0.1, port: <listener>, interval: 1s, timeout: 5s }`,
 * against helpers/tcp-listener.js in another process. Waits until N `sleep` children of the
 * daemon run (/proc), `pm-cli list -o json` shows each running with that pid, and the health
 * gate says all N are healthy; settles; then the daemon's utime + stime (/proc/<pid>/stat, all
 * its threads, not its reaped children) over the window, checks counted by the listener, VmRSS.
 * After the window the gate and the list again (all still healthy, no restart); then SIGTERM
 * to the daemon, a wait for its exit and for every one of the N pids to be gone, and the
 * temporary directory removed. With `cfg.profile` the daemon runs as `node --cpu-prof` (the
 * adapter's `profileDir`; Node 20 refuses --cpu-prof in NODE_OPTIONS) and the summary of its
 * samples in the window is printed. `withChecks` false ("daemon-idle"): the same without any
 * health_check, the daemon's own cost of N idle processes, to subtract.
 */
async function daemonRun(cfg, log, title, withChecks) {
  const listener = await childListener();
  mkdirSync(workDir, { recursive: true });
  const dir = mkdtempSync(join(workDir, "health-"));
  activeDir = dir;
  const profileDir = cfg.profile ? join(dir, "profile") : undefined;
  const a = oursAdapter({
    work: dir,
    repo,
    oursJs: true,
    profileDir,
  });
  const healthCheck = {
    type: "tcp",
    host: "127.0.0.1",
    port: listener.port,
    interval: `${cfg.intervalSec}s`,
    timeout: "5s",
  };
  const specs = sleepSpecs(cfg.n, "h", "always").map((s) => ({
    ...s,
    autoStart: true,
    ...(withChecks ? { healthCheck } : {}),
  }));
  const names = specs.map((s) => s.name);
  const gate = {
    name: gateName,
    command: "/bin/true",
    args: [],
    restart: "never",
    processType: "oneshot",
    requires: names,
  };
  let pids = [];
  let r = null;
  let window = null;
  let failure = null;
  const t0 = now();
  activeDaemon = a;
  try {
    await a.start([...specs, gate]);
    const daemonPid = a.pid;
    pids = await waitChildren(daemonPid, "sleep", cfg.n, 300_000);
    for (const p of pids) track(p, "daemon's sleep");
    const startedMs = now() - t0;
    const listed = await listedRunning(a, names, pids);
    if (listed.running !== cfg.n) {
      throw new Error(`pm-cli list shows ${listed.running} of ${cfg.n} running with their pid`);
    }
    const gate0 = await healthGate(a);
    if (!gate0.ok) throw new Error(`not all ${cfg.n} healthy: ${gate0.why}`);
    const healthyMs = now() - t0;
    log(
      `  ${title}: daemon pid ${daemonPid}, ${cfg.n} running after ${(startedMs / 1000).toFixed(1)} s, ${withChecks ? "all healthy" : "gate passed"} after ${(healthyMs / 1000).toFixed(1)} s; settling ${cfg.settleSeconds} s, measuring ${cfg.seconds} s`,
    );
    await sleep(cfg.settleSeconds * 1000);
    const accepted0 = await listener.accepted();
    const s0 = readStat(daemonPid);
    const j0 = machineJiffies();
    const w0 = now();
    await sleep(cfg.seconds * 1000);
    const s1 = readStat(daemonPid);
    const j1 = machineJiffies();
    const w1 = now();
    const accepted1 = await listener.accepted();
    if (s0 === null || s1 === null) throw new Error("the daemon exited during the window");
    window = { fromUs: w0 * 1000, toUs: w1 * 1000 };
    const rss = rssBytes(daemonPid);
    const threads = threadCount(daemonPid);
    const timeWait = timeWaitCount(listener.port);
    const gate1 = await healthGate(a);
    const after = await listedRunning(a, names, pids);
    const wallMs = w1 - w0;
    const userMs = ((s1.utime - s0.utime) * 1000) / clockTicks;
    const sysMs = ((s1.stime - s0.stime) * 1000) / clockTicks;
    const checks = accepted1 - accepted0;
    r = {
      title,
      windowSeconds: wallMs / 1000,
      cpuPercent: ((userMs + sysMs) / wallMs) * 100,
      cpuUserPercent: (userMs / wallMs) * 100,
      cpuSystemPercent: (sysMs / wallMs) * 100,
      checksPerSecond: checks / (wallMs / 1000),
      cpuMicrosPerCheck: ((userMs + sysMs) * 1000) / checks,
      eventLoopUtilization: Number.NaN,
      healthyAtEnd: !withChecks ? "n/a" : gate1.ok ? cfg.n : `not all (${gate1.why})`,
      unhealthyEvents: "n/a",
      onChangeInWindow: Number.NaN,
      timeWaitSockets: timeWait,
      rssMiB: rss / 1024 / 1024,
      machine: machineShare(j0, j1),
      daemon: {
        pid: daemonPid,
        withChecks,
        threads,
        startedSeconds: startedMs / 1000,
        healthySeconds: healthyMs / 1000,
        runningAtEnd: after.running,
        restartsAtEnd: after.restarts,
      },
    };
  } catch (e) {
    failure = e;
  } finally {
    activeDaemon = null;
    await a.shutdown();
    const left = [];
    try {
      await waitGone(pids, 30_000);
    } catch {
      for (const p of pids) if (exists(p) && killTracked(p, "SIGKILL")) left.push(p);
    }
    listener.close();
    if (failure !== null) {
      try {
        const tail = readFileSync(join(dir, "ours", "daemon.log"), "utf8").slice(-2000);
        log(`  ${title}: daemon.log ends with:\n${tail}`);
      } catch {}
    }
    if (r !== null) {
      r.daemon.sleepsLeftAfterShutdown = left.length;
      log(
        `  ${title}: daemon stopped; ${pids.length - left.length} of ${pids.length} sleep pids gone${left.length > 0 ? `, ${left.length} left (SIGKILLed: ${left.join(" ")})` : ""}`,
      );
    }
    if (profileDir !== undefined && window !== null) {
      try {
        for (const f of readdirSync(profileDir).filter((x) => x.endsWith(".cpuprofile"))) {
          const keep = join(workDir, `health-daemon-${Date.now()}.cpuprofile`);
          copyFileSync(join(profileDir, f), keep);
          log(`  ${title}: profile ${keep}, the window's samples:`);
          log(summarizeProfile(keep, 30, window));
        }
      } catch (e) {
        log(`  ${title}: no profile (${e.message})`);
      }
    }
    rmSync(dir, { recursive: true, force: true });
    activeDir = null;
    await sleep(1500); // the listener exits
  }
  if (failure !== null) throw failure;
  return r;
}

/**
 * @param {{ n: number, seconds: number, settleSeconds: number, intervalSec: number,
 *   runs: string[], profile?: boolean }} cfg
 */
export async function healthChecksWorkload(cfg, log) {
  const results = [];
  const n = cfg.n.toLocaleString("en-US");
  if (cfg.runs.includes("daemon")) {
    results.push(await daemonRun(cfg, log, `daemon, ${n} processes`, true));
  }
  if (cfg.runs.includes("daemon-idle")) {
    results.push(await daemonRun(cfg, log, `daemon, ${n} processes, no checks`, false));
  }
  if (cfg.runs.includes("monitors")) {
    const l = await localListener();
    results.push(await measure(cfg, log, "monitors", l, await monitorsOn(cfg, l.port)));
  }
  if (cfg.runs.includes("apart")) {
    const l = await childListener();
    const title = "monitors, listener in another process";
    results.push(await measure(cfg, log, title, l, await monitorsOn(cfg, l.port)));
  }
  if (cfg.runs.includes("floor")) {
    const l = await localListener();
    const title = "floor: plain Node connects";
    results.push(await measure(cfg, log, title, l, plainConnects(cfg, l.port)));
  }
  if (cfg.runs.includes("floor-apart")) {
    const l = await childListener();
    const title = "floor, listener in another process";
    results.push(await measure(cfg, log, title, l, plainConnects(cfg, l.port)));
  }
  return results;
}
