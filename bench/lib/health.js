/**
 * Workload "1,000 tcp health checks" (issue 15): N HealthMonitors of @procmgr/core, each with a
 * tcp check every second, against one local listener, all in this Node process: what the
 * monitors cost the process that will be the daemon. Not a comparison with the other tools
 * (they have no such checks to run the same way), so it is its own command
 * (`node bench/health-checks.js`) rather than a column of `pnpm bench`.
 *
 * Four runs, one after the other, each with its own listener, settling time and window:
 *   - "monitors": the N monitors and the listener in this process (the figure);
 *   - "monitors, listener in another process" (helpers/tcp-listener.js): the monitors' own share;
 *   - "floor": plain Node doing the same connects (net.connect, reset once connected, again a
 *     second later) against a listener in this process: what any Node daemon pays for them;
 *   - "floor, listener in another process": the same against helpers/tcp-listener.js.
 *
 * CPU is process.cpuUsage() (user + system of this process, all threads) over the window, as a
 * percentage of one core. Checks are counted by the listener (one connection per check; the
 * other process's answers on SIGUSR1, read outside the window); event-loop utilisation by perf_hooks;
 * TIME_WAIT sockets to the listener's port from /proc/net/tcp at the end.
 */
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { killTracked, startBackground } from "./exec.js";
import { now, rssBytes, sleep } from "./proc.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const coreDist = join(here, "..", "..", "packages", "core", "dist", "index.js");
const listenerScript = join(here, "..", "helpers", "tcp-listener.js");

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
  const w0 = now();
  await sleep(cfg.seconds * 1000);
  const cpu = process.cpuUsage(cpu0);
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
  };
  loops.stop();
  listener.close();
  await sleep(1500); // the last checks end, the listener closes
  return r;
}

/**
 * @param {{ n: number, seconds: number, settleSeconds: number, intervalSec: number,
 *   runs: string[] }} cfg
 */
export async function healthChecksWorkload(cfg, log) {
  const results = [];
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
