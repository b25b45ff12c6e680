/**
 * PM2 from npm, installed into bench/.tools, with its own PM2_HOME under bench/.work.
 * Define = write an ecosystem file (PM2 has no "defined but not started" state, so its start
 * includes creating the apps); start = `pm2 start ecosystem.json`; stop = `pm2 stop all`;
 * delete = `pm2 delete all`; list = `pm2 jlist`; shutdown = `pm2 kill`.
 * The daemon ("PM2 God Daemon") forks itself away from the CLI: its pid comes from pm2.pid.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { killTracked, markerKey, run, runId, toolEnv, track } from "../lib/exec.js";
import { exists, sleep, waitFor } from "../lib/proc.js";

export const pm2Version = "7.0.4";

/**
 * @param {{ work: string, toolsDir: string }} ctx
 */
export function pm2Adapter(ctx) {
  const dir = join(ctx.work, "pm2");
  const home = join(dir, "home");
  const eco = join(dir, "ecosystem.json");
  const bin = join(ctx.toolsDir, "node_modules", "pm2", "bin", "pm2");
  const env = { ...toolEnv(), PM2_HOME: home, [markerKey]: runId };
  const pm2 = (args, opts = {}) =>
    run(process.execPath, [bin, ...args], { env, timeoutMs: 600_000, ...opts });
  let pid = 0;

  return {
    id: "pm2",
    label: `PM2 ${pm2Version}`,
    get pid() {
      return pid;
    },
    listCommand: "pm2 jlist",
    listCount: (stdout) => JSON.parse(stdout).length,
    async start() {
      mkdirSync(home, { recursive: true });
      await pm2(["ping"]);
      pid = Number(readFileSync(join(home, "pm2.pid"), "utf8").trim());
      if (!exists(pid)) throw new Error(`PM2 daemon pid ${pid} from pm2.pid does not exist`);
      track(pid, "PM2 God Daemon");
    },
    async define(specs) {
      const apps = specs.map((s) => ({
        name: s.name,
        script: s.command,
        args: s.args,
        interpreter: "none",
        exec_mode: "fork",
        autorestart: s.restart === "always",
        restart_delay: 0,
        min_uptime: 100,
        max_restarts: 1_000_000,
        ...(s.stdoutFile ? { out_file: s.stdoutFile, merge_logs: true } : {}),
        ...(s.stderrFile ? { error_file: s.stderrFile } : {}),
        env: { [markerKey]: runId },
      }));
      writeFileSync(eco, JSON.stringify({ apps }, null, 1));
    },
    startAll: () => pm2(["start", eco]),
    stopAll: () => pm2(["stop", "all"]),
    async deleteAll() {
      await pm2(["delete", "all"], { check: false });
    },
    list: () => pm2(["jlist"]),
    async listedPids() {
      const res = await pm2(["jlist"]);
      return JSON.parse(res.stdout)
        .map((p) => p.pid)
        .filter((p) => p > 0);
    },
    async shutdown() {
      if (pid === 0) return;
      if (existsSync(join(home, "pm2.pid")) || exists(pid)) {
        await pm2(["kill"], { check: false, timeoutMs: 300_000, cleanup: true });
      }
      try {
        await waitFor(() => !exists(pid), { timeoutMs: 10_000, what: "PM2 daemon exit" });
      } catch {
        killTracked(pid, "SIGKILL");
        await sleep(100);
      }
      pid = 0;
    },
  };
}
