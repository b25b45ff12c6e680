/**
 * supervisord from Debian's `supervisor` package, never as the system service: the bench runs
 * `supervisord -c <own config>` in the foreground (nodaemon, so its pid is the child we spawned)
 * with its own unix socket, pidfile, logfile and child log dir under bench/.work.
 * Define = write conf.d/bench.conf + `supervisorctl update`; start = `supervisorctl start all`;
 * stop = `supervisorctl stop all`; delete = empty bench.conf + `supervisorctl update`;
 * list = `supervisorctl status` (supervisorctl has no JSON output); shutdown = `supervisorctl
 * shutdown`, then the pid.
 */
import { existsSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { killTracked, markerKey, run, runId, startBackground, toolEnv } from "../lib/exec.js";
import { exists, sleep, waitFor } from "../lib/proc.js";

/** supervisord expands %(name)s in values: a literal % is %%. */
const esc = (s) => s.replaceAll("%", "%%");

/**
 * One argument of a command line as supervisord splits it (Python's shlex, POSIX rules): plain
 * words as they are, anything else in single quotes (the crash loop's `sh -c '...'`).
 */
const shellWord = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'"'"'`)}'`);

/** @param {{ work: string }} ctx */
export function supervisordAdapter(ctx) {
  const dir = join(ctx.work, "supervisord");
  const conf = join(dir, "supervisord.conf");
  const confD = join(dir, "conf.d");
  const benchConf = join(confD, "bench.conf");
  const sock = join(dir, "supervisor.sock");
  const env = { ...toolEnv(), [markerKey]: runId };
  const ctl = (args, opts = {}) =>
    run("supervisorctl", ["-c", conf, ...args], { env, timeoutMs: 600_000, ...opts });
  let child = null;
  let pid = 0;
  let version = "";

  return {
    id: "supervisord",
    get label() {
      return `supervisord ${version}`.trim();
    },
    get pid() {
      return pid;
    },
    listCommand: "supervisorctl status",
    listCount: (stdout) => stdout.split("\n").filter((l) => l.trim() !== "").length,
    async start() {
      mkdirSync(join(dir, "childlogs"), { recursive: true });
      mkdirSync(confD, { recursive: true });
      writeFileSync(benchConf, "");
      writeFileSync(
        conf,
        [
          "[unix_http_server]",
          `file=${sock}`,
          "chmod=0700",
          "",
          "[supervisord]",
          `logfile=${join(dir, "supervisord.log")}`,
          "logfile_maxbytes=0",
          `pidfile=${join(dir, "supervisord.pid")}`,
          `childlogdir=${join(dir, "childlogs")}`,
          "nodaemon=true",
          "minfds=16384",
          "minprocs=4096",
          "loglevel=info",
          "",
          "[rpcinterface:supervisor]",
          "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
          "",
          "[supervisorctl]",
          `serverurl=unix://${sock}`,
          "",
          "[include]",
          `files = ${confD}/*.conf`,
          "",
        ].join("\n"),
      );
      version = (await run("supervisord", ["--version"])).stdout.trim();
      const out = openSync(join(dir, "supervisord.stdout"), "a");
      child = startBackground("supervisord", ["-c", conf], { env, stdio: ["ignore", out, out] });
      pid = /** @type {number} */ (child.pid);
      await waitFor(() => existsSync(sock) || !exists(pid), {
        timeoutMs: 20_000,
        what: "supervisord socket",
      });
      for (let i = 0; ; i++) {
        const r = await ctl(["pid"], { check: false });
        if (r.code === 0 && Number(r.stdout.trim()) === pid) break;
        if (i > 200) throw new Error(`supervisord not answering: ${r.stdout} ${r.stderr}`);
        await sleep(50);
      }
    },
    async define(specs) {
      const parts = specs.map((s) =>
        [
          `[program:${s.name}]`,
          `command=${esc([s.command, ...s.args].map(shellWord).join(" "))}`,
          "autostart=false",
          `autorestart=${s.restart === "always" ? "true" : "false"}`,
          "startsecs=0",
          // With startsecs=0 no exit counts as a failed start, so this never applies; set high
          // all the same, like the other tools' limits (the crash loop restarts 10,000 times).
          "startretries=1000000",
          "stopwaitsecs=10",
          ...(s.stdoutFile
            ? [
                `stdout_logfile=${esc(s.stdoutFile)}`,
                "stdout_logfile_maxbytes=0",
                "stdout_logfile_backups=0",
              ]
            : []),
          ...(s.stderrFile ? [`stderr_logfile=${esc(s.stderrFile)}`] : []),
          "",
        ].join("\n"),
      );
      writeFileSync(benchConf, parts.join("\n"));
      await ctl(["update"]);
    },
    startAll: () => ctl(["start", "all"]),
    stopAll: () => ctl(["stop", "all"]),
    async deleteAll() {
      writeFileSync(benchConf, "");
      await ctl(["update"]);
    },
    // exit status 3 = "some process is not running": not an error for a listing.
    list: () => ctl(["status"], { check: false }),
    async listedPids() {
      const r = await ctl(["status"], { check: false });
      return [...r.stdout.matchAll(/RUNNING\s+pid (\d+)/g)].map((m) => Number(m[1]));
    },
    async shutdown() {
      if (pid === 0) return;
      if (exists(pid)) await ctl(["shutdown"], { check: false, timeoutMs: 300_000, cleanup: true });
      try {
        await waitFor(() => !exists(pid), { timeoutMs: 30_000, what: "supervisord exit" });
      } catch {
        killTracked(pid, "SIGKILL");
        await sleep(100);
      }
      pid = 0;
    },
  };
}
