/**
 * Running commands and remembering every process the benchmark caused, so that cleanup can
 * stop exactly those (by PID, checked against the start time to survive PID reuse) and prove
 * that nothing is left.
 */
import { spawn } from "node:child_process";
import { now, readStat } from "./proc.js";

/** A marker put into the environment of everything the bench starts (and of managed children). */
export const runId = `${process.pid}-${Date.now().toString(36)}`;
export const markerKey = "BENCH_RUN_ID";

/**
 * The environment every measured tool runs with: ours, PM2, supervisord and the floors alike.
 * NODE_EXTRA_CA_CERTS is left out (set BENCH_KEEP_NODE_EXTRA_CA_CERTS=1 to keep it): where it is
 * set (this machine sets it for its registry proxy) every Node process parses the whole CA
 * bundle before running a line, ~100 ms here, which would be most of a Node CLI's round trip
 * and is not what a production host does. Installs (npm) keep the full environment.
 */
export function toolEnv() {
  const env = { ...process.env };
  if (env.BENCH_KEEP_NODE_EXTRA_CA_CERTS !== "1") delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** @type {Map<number, { starttime: number, what: string }>} */
const tracked = new Map();
let stopping = false;

/** From now on only cleanup commands (`{ cleanup: true }`) may start processes. */
export function stopSpawning() {
  stopping = true;
}

function refuse(cleanup) {
  if (stopping && !cleanup) throw new Error("the bench is stopping: not starting anything new");
}

/** Remember a pid we started (or that a tool started for us). */
export function track(pid, what) {
  if (!Number.isInteger(pid) || pid <= 0 || tracked.has(pid)) return;
  const s = readStat(pid);
  if (s !== null) tracked.set(pid, { starttime: s.starttime, what });
}

/** Tracked pids that still exist as the same process (same start time). */
export function trackedAlive() {
  const out = [];
  for (const [pid, t] of tracked) {
    const s = readStat(pid);
    if (s !== null && s.starttime === t.starttime && s.state !== "Z") out.push({ pid, ...t });
    else tracked.delete(pid);
  }
  return out;
}

/** Signal a tracked pid only if it is still the process we tracked. */
export function killTracked(pid, signal) {
  const t = tracked.get(pid);
  const s = readStat(pid);
  if (t === undefined || s === null || s.starttime !== t.starttime) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Run a command to completion. Resolves with its exit code, output and wall time in ms.
 * Rejects on timeout (after killing it) or when `check` is set and the exit code is not 0.
 */
export function run(cmd, args, { env, timeoutMs = 120_000, check = true, input, cleanup } = {}) {
  return new Promise((resolve, reject) => {
    refuse(cleanup);
    const t0 = now();
    const child = spawn(cmd, args, {
      env: { ...(env ?? toolEnv()), [markerKey]: runId },
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    if (child.pid !== undefined) track(child.pid, `${cmd} ${args.join(" ")}`.slice(0, 80));
    const out = [];
    const err = [];
    child.stdout.on("data", (d) => out.push(d));
    child.stderr.on("data", (d) => err.push(d));
    if (input !== undefined) child.stdin.end(input);
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")}: timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const res = {
        code: code ?? -1,
        signal,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        ms: now() - t0,
      };
      if (check && res.code !== 0) {
        reject(
          new Error(
            `${cmd} ${args.join(" ")} exited ${res.code}${signal ? ` (${signal})` : ""}: ${res.stderr.slice(-2000) || res.stdout.slice(-2000)}`,
          ),
        );
      } else resolve(res);
    });
  });
}

/**
 * Start a long-running process (a daemon in the foreground) with output to a file descriptor.
 * Returns the ChildProcess; its pid is tracked.
 */
export function startBackground(cmd, args, { env, stdio = "ignore", cwd } = {}) {
  refuse(false);
  const child = spawn(cmd, args, {
    env: { ...(env ?? toolEnv()), [markerKey]: runId },
    stdio,
    cwd,
  });
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  child.on("error", () => {});
  track(child.pid, `${cmd} ${args.join(" ")}`.slice(0, 80));
  return child;
}
