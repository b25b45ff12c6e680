/**
 * Issue 13's sustained workloads, each run the same way on every tool through its adapter:
 *   8. crash loop: one program that exits at once, restarted with no delay;
 *   9. log firehose: many writers at full speed, each to its own log file;
 *  10. soak: N processes, one SIGKILLed every 100 ms in rotation, a list every second;
 *  11. the floor of a Node daemon's RSS: a bare Node process that only waits.
 * As in workloads.js, every count and time comes from /proc or from files the managed programs
 * write themselves (the crash loop's counter, the writers' own clocks and log lines), never from
 * a tool's own report.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { killTracked, startBackground, track } from "./exec.js";
import {
  children,
  cpuSeconds,
  exists,
  now,
  readStat,
  rssAnonBytes,
  rssBytes,
  runningChildren,
  sleep,
  waitFor,
} from "./proc.js";
import { alongside, fileSize, sleepSpecs, waitChildren, writerScript } from "./workloads.js";

const perl = "/usr/bin/perl";
const crashScript = join(
  fileURLToPath(new URL(".", import.meta.url)),
  "..",
  "helpers",
  "crash-loop.js",
);
const mib = (bytes) => bytes / 1024 / 1024;

/** Nearest-rank percentile (p in 0..1) of a sample: with 20 samples, p99 is the largest. */
export function percentile(xs, p) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  return v[Math.min(v.length, Math.max(1, Math.ceil(p * v.length))) - 1];
}

/** Least-squares slope of y over x (NaN with fewer than two distinct x). */
export function slope(points) {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : Number.NaN;
}

/**
 * After a workload's stop and delete: wait until the daemon has no live child running `comm`
 * (a crash loop or a restart may have been under way when the stop came).
 */
async function noChildLeft(a, comm, timeoutMs) {
  await waitFor(() => runningChildren(a.pid, comm).length === 0, {
    timeoutMs,
    intervalMs: 20,
    what: `no '${comm}' child of ${a.id}'s daemon`,
  });
}

/** Stop and delete everything, reporting (not throwing) a stop command that failed. */
async function stopAndDelete(a, log) {
  try {
    await a.stopAll();
  } catch (e) {
    log(`  ${a.id}: stop command failed (the delete stops them): ${e.message.slice(0, 200)}`);
  }
  await a.deleteAll();
}

/** The crash loop's program on every tool: append one byte to `counter`, exit 0. */
function crashCommand(counter) {
  // The path goes unquoted into sh -c (and into supervisord's command line).
  if (!/^[\w./-]+$/.test(counter)) throw new Error(`counter path needs quoting: ${counter}`);
  return { command: "/bin/sh", args: ["-c", `printf x >> ${counter}`] };
}

/**
 * Watch a crash loop run by process `pid` (a daemon, or the plain-Node floor): poll the counter
 * every 2 ms and the process's VmRSS every 50 ms until `crashExits` exits, the time cap
 * (`crashCapSeconds` from `t0`), or 10 s without an exit after the first (the tool gave up on
 * the program). `failed()` returns an error to stop with (the start command failed).
 * Exits per second and CPU per exit are counted from the first exit seen to the last, over the
 * exits in between, with the process's utime + stime from /proc read at those two moments.
 */
async function watchCrashLoop(pid, counter, cfg, t0, failed) {
  const capMs = cfg.crashCapSeconds * 1000;
  let first = null; // { t, size, cpu } at the first exit seen
  let rssAt500 = Number.NaN;
  let peak = 0;
  let lastSample = Number.NEGATIVE_INFINITY;
  let lastGrowth = { t: t0, size: 0 };
  for (;;) {
    const err = failed();
    if (err !== null) throw err;
    const t = now();
    const size = fileSize(counter);
    if (t - lastSample >= 50) {
      peak = Math.max(peak, mib(rssBytes(pid)));
      lastSample = t;
    }
    if (size !== lastGrowth.size) lastGrowth = { t, size };
    if (first === null && size > 0) first = { t, size, cpu: cpuSeconds(pid) };
    if (Number.isNaN(rssAt500) && size >= 500) {
      rssAt500 = mib(rssBytes(pid));
      peak = Math.max(peak, rssAt500);
    }
    let stopped = null;
    if (size >= cfg.crashExits) stopped = "";
    else if (t - t0 >= capMs) stopped = "cap";
    else if (first !== null && t - lastGrowth.t > 10_000) stopped = "stalled";
    if (stopped === null) {
      await sleep(2);
      continue;
    }
    if (first === null) throw new Error(`no exit within ${cfg.crashCapSeconds} s`);
    const last = { t: stopped === "stalled" ? lastGrowth.t : t, size, cpu: cpuSeconds(pid) };
    peak = Math.max(peak, mib(rssBytes(pid)));
    const exits = last.size - first.size;
    const secs = (last.t - first.t) / 1000;
    return {
      exits,
      total: last.size,
      secs,
      rate: exits > 0 && secs > 0 ? exits / secs : Number.NaN,
      cpuPerExit: exits > 0 ? ((last.cpu - first.cpu) * 1000) / exits : Number.NaN,
      rssAt500,
      peak,
      firstSeenAt: first.size,
      stopped,
    };
  }
}

/**
 * Workload 8: a crash loop. The managed program is `/bin/sh -c 'printf x >> COUNTER'` on every
 * tool: each run appends one byte (O_APPEND, so no two runs overwrite each other) and exits 0,
 * so the number of exits is the counter file's size, whatever the tool reports. Restart always,
 * no delay (the adapters' "restart delay 0" settings). Measured by `watchCrashLoop` from the
 * launch of the start command.
 */
export async function crashLoopWorkload(a, cfg, R, log) {
  const dir = join(cfg.work, "crash");
  mkdirSync(dir, { recursive: true });
  const counter = join(dir, `${a.id}.count`);
  writeFileSync(counter, "");
  await a.define([{ name: "crash", ...crashCommand(counter), restart: "always" }]);
  let failure = null;
  const t0 = now();
  const cli = a.startAll();
  cli.catch((e) => {
    failure = e;
  });
  let w;
  try {
    w = await watchCrashLoop(a.pid, counter, cfg, t0, () => failure);
    await cli;
  } finally {
    await stopAndDelete(a, log);
    await noChildLeft(a, "sh", 60_000);
  }
  const total = fileSize(counter);
  rmSync(counter, { force: true });
  R.extra(`crash.${a.id}`, {
    exits_counted: w.exits,
    seconds: w.secs,
    exits_before_first_seen: w.firstSeenAt,
    exits_total_after_stop: total,
    ended: w.stopped || "target",
  });
  if (Number.isFinite(w.rate)) R.push("crash_rate", a.id, w.rate);
  if (Number.isFinite(w.cpuPerExit)) R.push("crash_cpu", a.id, w.cpuPerExit);
  if (Number.isFinite(w.rssAt500)) R.push("crash_rss500", a.id, w.rssAt500);
  else R.flag("crash_rss500", a.id, `n/a: ${w.total} exits in all`);
  R.push("crash_rss_peak", a.id, w.peak);
  if (w.stopped === "cap") {
    R.flag("crash_rate", a.id, `(${cfg.crashCapSeconds} s cap: ${w.total} exits)`);
    R.note(
      `${a.id}: crash loop stopped at the ${cfg.crashCapSeconds} s cap after ${w.total} of ${cfg.crashExits} exits; its figures are over those exits`,
    );
  } else if (w.stopped === "stalled") {
    R.flag("crash_rate", a.id, `(stalled at ${w.total} exits)`);
    R.note(
      `${a.id}: crash loop stalled: no exit for 10 s after ${w.total} exits (the tool stopped restarting the program)`,
    );
  }
  log(
    `  crash loop: ${w.total} exits, ${R.summary("crash_rate", a.id)} exits/s, cpu ${R.summary("crash_cpu", a.id)} ms/exit, rss after 500 ${Number.isFinite(w.rssAt500) ? w.rssAt500.toFixed(1) : "n/a"} MiB, peak ${w.peak.toFixed(1)} MiB${w.stopped ? ` (${w.stopped})` : ""}`,
  );
}

/**
 * Workload 8's floor: plain Node (helpers/crash-loop.js) respawning the same program the moment
 * it exits, with its output on pipes as a supervisor has it, measured the same way.
 */
export async function crashLoopFloor(cfg, R, log) {
  const dir = join(cfg.work, "crash");
  mkdirSync(dir, { recursive: true });
  const counter = join(dir, "bound.count");
  writeFileSync(counter, "");
  const { command, args } = crashCommand(counter);
  const t0 = now();
  const node = startBackground(process.execPath, [crashScript, command, ...args]);
  const pid = /** @type {number} */ (node.pid);
  let w;
  try {
    w = await watchCrashLoop(pid, counter, cfg, t0, () => null);
  } finally {
    killTracked(pid, "SIGTERM");
    await waitFor(() => !exists(pid), { timeoutMs: 10_000, what: "crash-loop floor exit" });
    rmSync(counter, { force: true });
  }
  R.push("bound_crash_rate", "bound", w.rate);
  R.extra("bound_crash", { ...w, cpu_per_exit_ms: w.cpuPerExit });
  log(
    `  plain node crash loop: ${w.total} exits, ${w.rate.toFixed(0)} exits/s, cpu ${w.cpuPerExit.toFixed(2)} ms/exit${w.stopped ? ` (${w.stopped})` : ""}`,
  );
}

const tail = Buffer.from(
  `${"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".repeat(2).slice(0, 89)}\n`,
);

/**
 * Read a writer's log file from the start: how many records of 100 bytes hold the sequence
 * numbers 0, 1, 2... in order with the filler intact, up to the first that does not.
 * @returns {{ lines: number, size: number, why?: string }} `why` set at the first defect
 */
export function scanLog(file) {
  const size = fileSize(file);
  const records = Math.floor(size / 100);
  let fd;
  try {
    fd = openSync(file, "r");
  } catch {
    return { lines: 0, size, why: "no log file" };
  }
  const chunkRecords = 65536;
  const buf = Buffer.allocUnsafe(chunkRecords * 100);
  try {
    for (let first = 0; first < records; first += chunkRecords) {
      const count = Math.min(chunkRecords, records - first);
      let got = 0;
      while (got < count * 100) {
        const n = readSync(fd, buf, got, count * 100 - got, first * 100 + got);
        if (n === 0) return { lines: first, size, why: `short read at line ${first}` };
        got += n;
      }
      for (let r = 0; r < count; r++) {
        const off = r * 100;
        let seq = 0;
        for (let d = 0; d < 9; d++) seq = seq * 10 + (buf[off + d] - 48);
        if (seq !== first + r || buf[off + 9] !== 32) {
          return { lines: first + r, size, why: `line ${first + r} holds sequence ${seq}` };
        }
        if (buf.compare(tail, 0, 90, off + 10, off + 100) !== 0) {
          return { lines: first + r, size, why: `line ${first + r} is corrupted` };
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  if (size !== records * 100) return { lines: records, size, why: "a torn last line" };
  return { lines: records, size };
}

/** The writer's times file: "START END LINES" (ms on CLOCK_MONOTONIC, lines it wrote). */
function readWriterTimes(file) {
  try {
    const [start, end, lines] = readFileSync(file, "utf8").trim().split(" ").map(Number);
    return { start, end, lines };
  } catch {
    return null;
  }
}

/**
 * Workload 9: the log firehose. `fhN` writers (helpers/log-writer.pl, one write(2) per
 * 100-byte line) write as fast as they can for `fhSeconds` on their own clock, then exit (restart
 * never); each tool sends each writer's stdout to its own file. Meanwhile up to `fhLists` list
 * commands run one after another (from the return of the start command until the last writer
 * has exited). The bench sums the files' sizes every 20 ms and keeps the time of the last change:
 * the last byte written. Then each file is read back: the lines delivered are the records
 * 0..k-1 in order at its start; "every line, in order" means each file holds exactly the lines
 * its writer says it wrote, no gap, no torn line. Lines per second: all lines delivered over the
 * span from the first writer's start (its own clock) to the last byte. Daemon CPU: from before
 * the start command to the last byte.
 */
export async function firehoseWorkload(a, cfg, R, log) {
  const dir = join(cfg.work, "firehose");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const writers = Array.from({ length: cfg.fhN }, (_, i) => {
    const name = `fh${String(i).padStart(3, "0")}`;
    const file = join(dir, `${a.id}-${name}.log`);
    return { name, file, times: `${file}.times`, err: `${file}.err` };
  });
  await a.define(
    writers.map((w) => ({
      name: w.name,
      command: perl,
      args: [writerScript, "0", "line", w.times, String(cfg.fhSeconds)],
      restart: "never",
      stdoutFile: w.file,
      stderrFile: w.err,
    })),
  );
  const watch = { total: 0, changed: now() };
  const poll = setInterval(() => {
    let total = 0;
    for (const w of writers) total += fileSize(w.file);
    if (total !== watch.total) {
      watch.total = total;
      watch.changed = now();
    }
  }, 20);
  try {
    const cpu0 = cpuSeconds(a.pid);
    const cli = a.startAll();
    const pids = await alongside(waitChildren(a.pid, "perl", cfg.fhN, 120_000), cli);
    for (const p of pids) track(p, `${a.id} log writer`);
    await cli;
    const running = () => pids.some((p) => exists(p));
    const lists = [];
    while (lists.length < cfg.fhLists && running()) lists.push((await a.list()).ms);
    await waitFor(() => !running(), {
      timeoutMs: (cfg.fhSeconds + 600) * 1000,
      intervalMs: 20,
      what: "every log writer to exit",
    });
    // Every byte the writers say they wrote, or no growth for 3 s (a lossy tool).
    const times = writers.map((w) => readWriterTimes(w.times));
    const written = times.reduce((s, t) => s + (t?.lines ?? 0) * 100, 0);
    await waitFor(() => watch.total >= written || now() - watch.changed > 3_000, {
      timeoutMs: 900_000,
      intervalMs: 20,
      what: `${written} bytes in the firehose's logs`,
    });
    const tEnd = watch.changed;
    const cpu1 = cpuSeconds(a.pid);
    let delivered = 0;
    let whole = 0;
    const why = [];
    for (const [i, w] of writers.entries()) {
      const s = scanLog(w.file);
      delivered += s.lines;
      const t = times[i];
      if (t === null) why.push(`${w.name}: the writer wrote no times (died? see ${w.err})`);
      else if (s.why !== undefined) why.push(`${w.name}: ${s.why}`);
      else if (s.lines !== t.lines) {
        why.push(`${w.name}: ${s.lines} of ${t.lines} lines, in order (the last ones missing)`);
      } else whole++;
    }
    const starts = times.filter((t) => t !== null).map((t) => t.start);
    const span = (tEnd - Math.min(...starts)) / 1000;
    R.push("fh_rate", a.id, delivered / span);
    R.push("fh_cpu", a.id, cpu1 - cpu0);
    R.push("fh_cpu_mib", a.id, ((cpu1 - cpu0) * 1000) / mib(delivered * 100));
    R.flag("fh_lossless", a.id, whole === cfg.fhN ? "yes (1/1)" : `NO (0/1: ${why[0]})`);
    if (lists.length > 0) {
      R.push("fh_list_p50", a.id, percentile(lists, 0.5));
      R.push("fh_list_p99", a.id, percentile(lists, 0.99));
    }
    if (lists.length < cfg.fhLists) {
      R.note(
        `${a.id}: only ${lists.length} of ${cfg.fhLists} lists ran while the firehose did (p50/p99 over those)`,
      );
    }
    R.extra(`firehose.${a.id}`, {
      lines_written: written / 100,
      lines_delivered: delivered,
      span_s: span,
      writer_seconds: times.map((t) => (t === null ? null : (t.end - t.start) / 1000)),
      list_ms: lists,
      defects: why,
    });
    log(
      `  firehose: ${delivered.toLocaleString("en-US")} lines in ${span.toFixed(1)} s = ${R.summary("fh_rate", a.id)}/s, cpu ${(cpu1 - cpu0).toFixed(2)} s, lossless ${whole}/${cfg.fhN}, list p50/p99 ${percentile(lists, 0.5).toFixed(0)}/${percentile(lists, 0.99).toFixed(0)} ms (${lists.length})`,
    );
  } finally {
    clearInterval(poll);
    await stopAndDelete(a, log);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Workload 10: soak. `soakN` sleeps with restart delay 0; once all run and 2 s have passed,
 * for `soakSeconds`: every `soakKillMs` the bench SIGKILLs the oldest of the daemon's `sleep`
 * children it knows of (a queue in the order they appeared: each goes to the back when its
 * replacement shows up, so all are killed in turn), runs the list command once a second (one at
 * a time), and samples the daemon's VmRSS every 250 ms. RSS at the start is the sample before
 * the first kill, at the end the sample after the last; growth per hour is the least-squares
 * slope of RSS over time through the samples of the second half of the run, times 3600.
 */
export async function soakWorkload(a, cfg, R, log) {
  await a.define(sleepSpecs(cfg.soakN, "k", "always"));
  const cli = a.startAll();
  const pids = await alongside(waitChildren(a.pid, "sleep", cfg.soakN, 300_000), cli);
  await cli;
  for (const p of pids) track(p, `${a.id} child`);
  await sleep(2_000);
  const queue = [...pids];
  const seen = new Set(pids);
  let kills = 0;
  let killError = null;
  const killOne = () => {
    try {
      for (const pid of children(a.pid)) {
        if (seen.has(pid)) continue;
        const s = readStat(pid);
        if (s === null || s.comm !== "sleep" || s.state === "Z") continue; // not exec'd yet
        seen.add(pid);
        track(pid, `${a.id} child`);
        queue.push(pid);
      }
      while (queue.length > 0) {
        if (killTracked(/** @type {number} */ (queue.shift()), "SIGKILL")) {
          kills++;
          break;
        }
      }
    } catch (e) {
      killError = e;
    }
  };
  const t0 = now();
  const samples = [{ t: 0, rss: mib(rssBytes(a.pid)) }];
  const sample = () => samples.push({ t: (now() - t0) / 1000, rss: mib(rssBytes(a.pid)) });
  const killer = setInterval(killOne, cfg.soakKillMs);
  const sampler = setInterval(sample, 250);
  const deadline = t0 + cfg.soakSeconds * 1000;
  const lists = [];
  // One list a second, one at a time; a list still running at the end finishes after the window
  // (the kills and samples stop at the deadline, so the window is the same for every tool).
  const lister = (async () => {
    for (let next = t0 + 1000; next < deadline; next = Math.max(next + 1000, now())) {
      await sleep(next - now());
      if (now() >= deadline) break;
      lists.push((await a.list()).ms);
    }
  })();
  let listError = null;
  lister.catch((e) => {
    listError = e;
  });
  await sleep(deadline - now());
  clearInterval(killer);
  clearInterval(sampler);
  sample();
  await lister.catch(() => {});
  if (listError !== null) throw listError;
  if (killError !== null) throw killError;
  const rss = samples.map((s) => s.rss);
  const half = cfg.soakSeconds / 2;
  const perSec = slope(samples.filter((s) => s.t >= half).map((s) => ({ x: s.t, y: s.rss })));
  R.push("soak_rss_start", a.id, rss[0]);
  R.push("soak_rss_end", a.id, rss[rss.length - 1]);
  R.push("soak_rss_peak", a.id, Math.max(...rss));
  R.push("soak_growth", a.id, perSec * 3600);
  const running = runningChildren(a.pid, "sleep").length;
  R.extra(`soak.${a.id}`, {
    kills,
    replacements_seen: seen.size - pids.length,
    running_at_end: running,
    list_ms: lists,
    rss_samples: samples,
  });
  log(
    `  soak: ${kills} kills, ${seen.size - pids.length} replacements, ${running}/${cfg.soakN} running at the end, rss ${rss[0].toFixed(1)} -> ${rss[rss.length - 1].toFixed(1)} MiB (peak ${Math.max(...rss).toFixed(1)}), ${(perSec * 3600).toFixed(1)} MiB/h, list median ${percentile(lists, 0.5).toFixed(0)} ms`,
  );
  await stopAndDelete(a, log);
  await noChildLeft(a, "sleep", 60_000);
}

/**
 * Workload 11: the RSS of a bare Node process that only waits (the bench's own node, with the
 * tools' environment), 2 s after its start: what any Node daemon pays before its first line.
 */
export async function nodeFloor(cfg, R, log) {
  for (let i = 0; i < cfg.nodeFloorRuns; i++) {
    const node = startBackground(process.execPath, ["-e", "setInterval(()=>{},1<<30)"]);
    const pid = /** @type {number} */ (node.pid);
    await sleep(2_000);
    R.push("bound_node_rss", "bound", mib(rssBytes(pid)));
    R.extra("bound_node_rss_anon", mib(rssAnonBytes(pid)), true);
    killTracked(pid, "SIGTERM");
    await waitFor(() => !exists(pid), { timeoutMs: 10_000, what: "bare node exit" });
  }
  log(`  bare node ${process.version}: RSS ${R.summary("bound_node_rss", "bound")} MiB`);
}
