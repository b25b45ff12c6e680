/**
 * The workloads of issue 5 (1-7), each run the same way on every tool through its adapter
 * (issue 13's sustained workloads 8-11 are in sustained.js).
 * Every timing is taken against /proc, never against the tool's own report:
 *   - "started": the daemon's direct child has exec'd the program (comm) and is not a zombie;
 *   - "stopped": /proc/<pid> is gone (the daemon has reaped it);
 *   - "restarted": a new non-zombie child running the program appeared after the SIGKILL.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
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
  sleep,
  waitFor,
} from "./proc.js";

const here = fileURLToPath(new URL(".", import.meta.url));
export const writerScript = join(here, "..", "helpers", "log-writer.pl");
const spawnScript = join(here, "..", "helpers", "spawn-children.js");
const perl = "/usr/bin/perl";
const mib = (bytes) => bytes / 1024 / 1024;

/**
 * @typedef {{ name: string, command: string, args: string[], restart: "always" | "never",
 *   stdoutFile?: string, stderrFile?: string, autoStart?: boolean,
 *   healthCheck?: Record<string, string | number>, processType?: string,
 *   requires?: string[] }} Spec
 * (the last four: ours only, for the health-check run of lib/health.js)
 */

/** @returns {Spec[]} */
export function sleepSpecs(n, prefix, restart) {
  return Array.from({ length: n }, (_, i) => ({
    name: `${prefix}${String(i).padStart(4, "0")}`,
    command: "/bin/sleep",
    args: ["100000"],
    restart,
  }));
}

/**
 * Watches `parent`'s children in /proc until `n` of them run `comm`. Each pid is checked once
 * it has exec'd, so a poll costs one read of the children lists plus one stat per new child.
 */
export function waitChildren(parent, comm, n, timeoutMs, exclude = new Set()) {
  const confirmed = new Set();
  return waitFor(
    () => {
      for (const pid of children(parent)) {
        if (confirmed.has(pid) || exclude.has(pid)) continue;
        const s = readStat(pid);
        if (s !== null && s.comm === comm && s.state !== "Z") confirmed.add(pid);
      }
      return confirmed.size >= n ? [...confirmed] : null;
    },
    { timeoutMs, intervalMs: 1, what: `${n} running '${comm}' children of pid ${parent}` },
  );
}

/** Resolves when every pid has disappeared from /proc (reaped). */
export function waitGone(pids, timeoutMs) {
  const pending = new Set(pids);
  return waitFor(
    () => {
      for (const pid of pending) if (!exists(pid)) pending.delete(pid);
      return pending.size === 0;
    },
    { timeoutMs, intervalMs: 1, what: `${pending.size} pids to be reaped` },
  );
}

/** Wait for `waiting`, but fail at once if the CLI command `cli` fails first. */
export function alongside(waiting, cli) {
  return Promise.race([waiting, cli.then(() => waiting)]);
}

/** Workloads 1, 2 and 4: create / start / stop / delete cycles of N, RSS, list round trips. */
export async function lifecycleWorkload(a, cfg, R, log) {
  await sleep(cfg.settleMs);
  R.push("rss_idle", a.id, mib(rssBytes(a.pid)));
  R.push("rss_idle_anon", a.id, mib(rssAnonBytes(a.pid)));
  const afterCycle = [];
  for (let c = 0; c < cfg.cycles; c++) {
    const specs = sleepSpecs(cfg.n, "p", "always");
    await a.define(specs);
    if (cfg.paired) await boundNodeSpawn(cfg, R, a.id);
    const t0 = now();
    const cli = a.startAll();
    const pids = await alongside(waitChildren(a.pid, "sleep", cfg.n, 300_000), cli);
    R.push("start_n", a.id, now() - t0);
    await cli;
    for (const p of pids) track(p, `${a.id} child`);
    if (c === 0) {
      for (let i = 0; i < cfg.listRuns; i++) {
        const r = await a.list();
        R.push("list_n", a.id, r.ms);
        if (i === 0) {
          R.extra(`list_output_bytes.${a.id}`, r.stdout.length);
          const listed = a.listCount(r.stdout);
          if (listed !== cfg.n) R.note(`${a.id}: list showed ${listed} processes, not ${cfg.n}`);
        }
      }
    }
    await sleep(cfg.settleMs / 2);
    R.push("rss_n", a.id, mib(rssBytes(a.pid)));
    R.push("rss_n_anon", a.id, mib(rssAnonBytes(a.pid)));
    const t1 = now();
    const stop = a.stopAll();
    await alongside(waitGone(pids, 300_000), stop);
    R.push("stop_n", a.id, now() - t1);
    await stop;
    await a.deleteAll();
    afterCycle.push(mib(rssBytes(a.pid)));
    log(
      `  cycle ${c + 1}/${cfg.cycles}: start ${R.last("start_n", a.id).toFixed(0)} ms, stop ${R.last("stop_n", a.id).toFixed(0)} ms, rss ${afterCycle.at(-1)?.toFixed(1)} MiB`,
    );
  }
  await sleep(cfg.settleMs);
  R.push("rss_cycles", a.id, mib(rssBytes(a.pid)));
  R.extra(`rss_after_each_cycle.${a.id}`, afterCycle);
}

/**
 * Busy-poll the daemon's children (no sleeping: resolution is one /proc read, tens of µs)
 * until a child other than `old` runs `comm`. Gives up after `budgetMs` and returns null.
 */
function spinForReplacement(parent, old, comm, budgetMs) {
  const deadline = now() + budgetMs;
  while (now() < deadline) {
    for (const pid of children(parent)) {
      if (pid === old) continue;
      const s = readStat(pid);
      if (s !== null && s.comm === comm && s.state !== "Z") return { pid, t: now() };
    }
  }
  return null;
}

/** Workload 3: SIGKILL the managed child; time until its replacement runs. */
export async function restartWorkload(a, cfg, R, log) {
  await a.define([{ name: "rs", command: "/bin/sleep", args: ["100000"], restart: "always" }]);
  await a.startAll();
  let [current] = await waitChildren(a.pid, "sleep", 1, 30_000);
  for (let i = 0; i < cfg.restartTries; i++) {
    await sleep(cfg.restartGapMs);
    track(current, `${a.id} child`);
    const t0 = now();
    process.kill(current, "SIGKILL");
    let found = spinForReplacement(a.pid, current, "sleep", 2_500);
    if (found === null) {
      const old = current;
      const [pid] = await waitChildren(a.pid, "sleep", 1, 30_000, new Set([old]));
      found = { pid, t: now() };
    }
    R.push("restart", a.id, found.t - t0);
    current = found.pid;
  }
  track(current, `${a.id} child`);
  const stop = a.stopAll();
  await alongside(waitGone([current], 60_000), stop);
  await stop;
  await a.deleteAll();
  log(`  restart: ${R.summary("restart", a.id)}`);
}

/**
 * Check a log written by the writer: exactly `lines` records of 100 bytes, record i starting
 * with the 9-digit number i and carrying the same filler and newline.
 * @returns {{ ok: boolean, why?: string }}
 */
export function verifyLog(file, lines) {
  let size;
  try {
    size = statSync(file).size;
  } catch {
    return { ok: false, why: "no log file" };
  }
  if (size !== lines * 100) {
    return { ok: false, why: `size ${size}, expected ${lines * 100} (${size / 100} lines)` };
  }
  const fd = openSync(file, "r");
  const chunkRecords = 65536;
  const buf = Buffer.allocUnsafe(chunkRecords * 100);
  const tail = Buffer.from(
    `${"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".repeat(2).slice(0, 89)}\n`,
  );
  try {
    for (let first = 0; first < lines; first += chunkRecords) {
      const count = Math.min(chunkRecords, lines - first);
      let got = 0;
      while (got < count * 100) {
        const n = readSync(fd, buf, got, count * 100 - got, first * 100 + got);
        if (n === 0) return { ok: false, why: `short read at line ${first}` };
        got += n;
      }
      for (let r = 0; r < count; r++) {
        const off = r * 100;
        let seq = 0;
        for (let d = 0; d < 9; d++) seq = seq * 10 + (buf[off + d] - 48);
        if (seq !== first + r || buf[off + 9] !== 32) {
          return { ok: false, why: `line ${first + r} holds sequence ${seq}: out of order` };
        }
        if (buf.compare(tail, 0, 90, off + 10, off + 100) !== 0) {
          return { ok: false, why: `line ${first + r} is corrupted` };
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return { ok: true };
}

/** Size in bytes, 0 while the file does not exist. */
export function fileSize(file) {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function readTimes(file) {
  const [start, end] = readFileSync(file, "utf8").trim().split(" ").map(Number);
  return { start, end };
}

/**
 * Workload 5: one child writes `lines` x 100 bytes to stdout. Time from the writer's own
 * start (its CLOCK_MONOTONIC, shared with ours) until the log file holds every byte; the
 * daemon's CPU seconds over the same span; then the file is checked line by line.
 */
export async function logsWorkload(a, cfg, R, log) {
  const dir = join(cfg.work, "logs");
  mkdirSync(dir, { recursive: true });
  const expected = cfg.logLines * 100;
  for (const mode of ["block", "line"]) {
    let good = 0;
    const why = [];
    for (let r = 0; r < cfg.logRuns; r++) {
      const file = join(dir, `${a.id}-${mode}-${r}.log`);
      const times = `${file}.times`;
      for (const f of [file, times, `${file}.err`]) rmSync(f, { force: true });
      if (cfg.paired) await boundWriter(cfg, R, mode, a.id);
      await a.define([
        {
          name: "logw",
          command: perl,
          args: [writerScript, String(cfg.logLines), mode, times],
          restart: "never",
          stdoutFile: file,
          stderrFile: `${file}.err`,
        },
      ]);
      const cpu0 = cpuSeconds(a.pid);
      const cli = a.startAll();
      // Done when every byte is there, or when the writer has finished and the file has
      // stopped growing for 2 s (a lossy tool).
      let lastSize = -1;
      let stableSince = now();
      const tEnd = await alongside(
        waitFor(
          () => {
            const size = fileSize(file);
            const t = now();
            if (size >= expected) return t;
            if (size !== lastSize) {
              lastSize = size;
              stableSince = t;
            } else if (existsSync(times) && t - stableSince > 2_000) return -t;
            return 0;
          },
          { timeoutMs: 600_000, intervalMs: 2, what: `${expected} bytes in ${file}` },
        ),
        cli,
      );
      const cpu1 = cpuSeconds(a.pid);
      await cli;
      await waitFor(() => existsSync(times), { timeoutMs: 60_000, what: "the writer's times" });
      await sleep(200);
      const w = readTimes(times);
      const v = verifyLog(file, cfg.logLines);
      if (v.ok) {
        good++;
        R.push(`log_${mode}_time`, a.id, (tEnd - w.start) / 1000);
      } else why.push(v.why);
      R.push(`log_${mode}_cpu`, a.id, cpu1 - cpu0);
      R.extra(`log_${mode}_writer_s.${a.id}`, (w.end - w.start) / 1000, true);
      await a.deleteAll();
      for (const f of [file, times, `${file}.err`]) rmSync(f, { force: true });
    }
    R.flag(
      `log_${mode}_lossless`,
      a.id,
      good === cfg.logRuns
        ? `yes (${good}/${cfg.logRuns})`
        : `NO (${good}/${cfg.logRuns}: ${why[0]})`,
    );
    log(
      `  logs ${mode}: ${R.summary(`log_${mode}_time`, a.id)} s, lossless ${good}/${cfg.logRuns}`,
    );
  }
}

/** Workload 6: 1,000 processes: start time, list latency, idle CPU, then stop time. */
export async function scaleWorkload(a, cfg, R, log) {
  const specs = sleepSpecs(cfg.scaleN, "s", "never");
  const td = now();
  await a.define(specs);
  R.extra(`scale_define_ms.${a.id}`, now() - td);
  const t0 = now();
  const cli = a.startAll();
  const pids = await alongside(waitChildren(a.pid, "sleep", cfg.scaleN, 900_000), cli);
  R.push("scale_start", a.id, (now() - t0) / 1000);
  await cli;
  for (const p of pids) track(p, `${a.id} child`);
  try {
    for (let i = 0; i < cfg.scaleListRuns; i++) R.push("scale_list", a.id, (await a.list()).ms);
    R.push("scale_rss", a.id, mib(rssBytes(a.pid)));
    await sleep(2_000);
    const c0 = cpuSeconds(a.pid);
    const w0 = now();
    await sleep(cfg.idleSeconds * 1000);
    const c1 = cpuSeconds(a.pid);
    R.push("scale_cpu", a.id, (100 * (c1 - c0)) / ((now() - w0) / 1000));
    // Stop all of them through the CLI, as workload 2 does with N: from launching the stop
    // command until every pid is gone from /proc (reaped).
    const t1 = now();
    const stop = a.stopAll();
    await alongside(waitGone(pids, 900_000), stop);
    R.push("scale_stop", a.id, (now() - t1) / 1000);
    await stop;
  } finally {
    // On a failure above, the children (restart never) are SIGKILLed by pid before the delete.
    for (const p of pids) killTracked(p, "SIGKILL");
    await waitGone(pids, 120_000);
  }
  log(
    `  scale: start ${R.summary("scale_start", a.id)} s, list ${R.summary("scale_list", a.id)} ms, idle cpu ${R.summary("scale_cpu", a.id)} %, stop ${R.summary("scale_stop", a.id)} s`,
  );
  await a.deleteAll();
}

/**
 * Plain Node spawning n children (timed from launching the script, like a CLI), then stopping
 * them on SIGTERM. `pairedWith` also files the samples under that tool, so its targets compare
 * with a floor measured under the same machine load.
 */
export async function boundNodeSpawn(cfg, R, pairedWith) {
  let t0 = now();
  const node = startBackground(process.execPath, [spawnScript, String(cfg.n)]);
  const pids = await waitChildren(node.pid, "sleep", cfg.n, 60_000);
  const start = now() - t0;
  for (const p of pids) track(p, "lower-bound child");
  t0 = now();
  node.kill("SIGTERM");
  await waitGone(pids, 60_000);
  const stop = now() - t0;
  await waitFor(() => !exists(node.pid), { timeoutMs: 10_000, what: "node spawner exit" });
  R.push("bound_node_start", "bound", start);
  R.push("bound_node_stop", "bound", stop);
  if (pairedWith) {
    R.extra(`paired.${pairedWith}.bound_node_start`, start, true);
    R.extra(`paired.${pairedWith}.bound_node_stop`, stop, true);
  }
}

/** The writer straight to a file; seconds on its own clock. */
export async function boundWriter(cfg, R, mode, pairedWith) {
  const dir = join(cfg.work, "logs");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bound-${mode}.log`);
  const times = `${file}.times`;
  rmSync(file, { force: true });
  const fd = openSync(file, "w");
  const w = startBackground(perl, [writerScript, String(cfg.logLines), mode, times], {
    stdio: ["ignore", fd, "inherit"],
  });
  closeSync(fd);
  await new Promise((resolve) => w.on("exit", resolve));
  const t = readTimes(times);
  const v = verifyLog(file, cfg.logLines);
  rmSync(file, { force: true });
  rmSync(times, { force: true });
  if (!v.ok) throw new Error(`writer to file: ${v.why}`);
  const secs = (t.end - t.start) / 1000;
  R.push(`bound_log_${mode}`, "bound", secs);
  if (pairedWith) R.extra(`paired.${pairedWith}.bound_log_${mode}`, secs, true);
}

/** Workload 7: the floor on this machine. */
export async function lowerBounds(cfg, R, log) {
  const n = cfg.n;
  for (let r = 0; r < cfg.cycles; r++) {
    await boundNodeSpawn(cfg, R);
    // A shell loop: the same n children from sh; the bench SIGTERMs them and sh reaps them.
    let t0 = now();
    const sh = startBackground("/bin/sh", [
      "-c",
      `i=0; while [ "$i" -lt ${n} ]; do /bin/sleep 100000 & i=$((i+1)); done; wait`,
    ]);
    const spids = await waitChildren(sh.pid, "sleep", n, 60_000);
    R.push("bound_sh_start", "bound", now() - t0);
    for (const p of spids) track(p, "lower-bound child");
    t0 = now();
    for (const p of spids) killTracked(p, "SIGTERM");
    await waitGone(spids, 60_000);
    R.push("bound_sh_stop", "bound", now() - t0);
    await waitFor(() => !exists(sh.pid), { timeoutMs: 10_000, what: "sh exit" });
  }

  // Plain Node respawning a SIGKILLed child at once.
  const rs = startBackground(process.execPath, [spawnScript, "1", "--respawn"]);
  let [current] = await waitChildren(rs.pid, "sleep", 1, 10_000);
  for (let i = 0; i < cfg.restartTries; i++) {
    await sleep(cfg.restartGapMs);
    track(current, "lower-bound child");
    const t0 = now();
    process.kill(current, "SIGKILL");
    const found = spinForReplacement(rs.pid, current, "sleep", 5_000);
    if (found === null) throw new Error("plain node did not respawn its child");
    R.push("bound_restart", "bound", found.t - t0);
    current = found.pid;
  }
  track(current, "lower-bound child");
  rs.kill("SIGTERM");
  await waitGone([current, rs.pid], 10_000);

  for (const mode of ["block", "line"]) {
    for (let r = 0; r < cfg.logRuns; r++) await boundWriter(cfg, R, mode);
  }
  log(
    `  node spawn ${R.summary("bound_node_start", "bound")} ms, sh ${R.summary("bound_sh_start", "bound")} ms, respawn ${R.summary("bound_restart", "bound")} ms, writer line ${R.summary("bound_log_line", "bound")} s`,
  );
}
