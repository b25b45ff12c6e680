/**
 * Ours: the real dd-procmgrd daemon and the installed CLI. The standalone executables
 * (apps/daemon/dist-bin/dd-procmgrd, apps/cli/dist-bin/dd-procmgr-cli) are used when present,
 * else `node apps/daemon/bin/dd-procmgrd.js` / `node apps/cli/bin/pm-cli.js`.
 * The daemon gets its own config, state dir, runtime dir, socket and a free 127.0.0.1 port.
 * Define = write processes.yaml + `pm-cli reload-config`; start/stop = `pm-cli start|stop` with
 * every name; delete = empty processes.yaml + `pm-cli reload-config`; list = `pm-cli list -o json`;
 * shutdown = SIGTERM to the daemon's pid (it stops its children itself), then SIGKILL if needed.
 */
import { accessSync, constants, existsSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { killTracked, markerKey, run, runId, startBackground, toolEnv } from "../lib/exec.js";
import { exists, sleep, waitFor } from "../lib/proc.js";

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where ours is, and whether it is there at all. `js` forces the repo's bin scripts (needed for
 * profiling: the standalone executable refuses --cpu-prof in NODE_OPTIONS).
 */
export function locateOurs(repo, js = false) {
  const daemonBin = join(repo, "apps/daemon/dist-bin/dd-procmgrd");
  const cliBin = join(repo, "apps/cli/dist-bin/dd-procmgr-cli");
  const daemonJs = join(repo, "apps/daemon/bin/dd-procmgrd.js");
  const cliJs = join(repo, "apps/cli/bin/pm-cli.js");
  const daemon =
    !js && executable(daemonBin)
      ? { cmd: daemonBin, args: [], how: "dist-bin/dd-procmgrd" }
      : existsSync(daemonJs) && existsSync(join(repo, "apps/daemon/dist/main.js"))
        ? { cmd: process.execPath, args: [daemonJs], how: "node bin/dd-procmgrd.js" }
        : null;
  const cli =
    !js && executable(cliBin)
      ? { cmd: cliBin, args: [], how: "dist-bin/dd-procmgr-cli" }
      : existsSync(cliJs) && existsSync(join(repo, "apps/cli/dist/main.js"))
        ? { cmd: process.execPath, args: [cliJs], how: "node bin/pm-cli.js" }
        : null;
  return { daemon, cli };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === "object" && addr !== null ? addr.port : 0));
    });
  });
}

const q = (s) => JSON.stringify(String(s));

/** A flat map as a YAML flow map: `{ key: value, ... }` (values quoted as JSON). */
const flowMap = (o) =>
  `{ ${Object.entries(o)
    .map(([k, v]) => `${k}: ${typeof v === "number" ? v : q(v)}`)
    .join(", ")} }`;

/**
 * processes.yaml for `specs` (workloads.js's Spec). Beyond the common fields, ours-only ones
 * for the health-check run (lib/health.js): `autoStart`, `healthCheck` (the YAML keys of
 * `health_check`, flat), `processType`, `requires`.
 */
function yamlFor(specs) {
  if (specs.length === 0) return "processes: {}\n";
  const lines = ["processes:"];
  for (const s of specs) {
    lines.push(
      `  ${s.name}:`,
      `    command: ${q(s.command)}`,
      `    args: [${s.args.map(q).join(", ")}]`,
      `    auto_start: ${s.autoStart === true}`,
      `    restart: ${s.restart === "always" ? "always" : "never"}`,
      "    restart_sec: 0",
      "    start_limit_burst: 1000000",
      `    env: { ${markerKey}: ${q(runId)} }`,
    );
    if (s.stdoutFile) lines.push(`    stdout: ${q(s.stdoutFile)}`);
    if (s.stderrFile) lines.push(`    stderr: ${q(s.stderrFile)}`);
    if (s.healthCheck) lines.push(`    health_check: ${flowMap(s.healthCheck)}`);
    if (s.processType) lines.push(`    process_type: ${s.processType}`);
    if (s.requires) lines.push(`    requires: [${s.requires.map(q).join(", ")}]`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * @param {{ work: string, repo: string, oursJs?: boolean, profileDir?: string,
 *   nodeOptions?: string }} ctx
 * With `profileDir`, the daemon runs as `node --cpu-prof` and writes its profile there on exit.
 */
export function oursAdapter(ctx) {
  const where = locateOurs(ctx.repo, ctx.oursJs === true || ctx.profileDir !== undefined);
  if (where.daemon === null || where.cli === null) {
    throw new Error("ours is not built (apps/daemon/dist and apps/cli/dist): run pnpm build");
  }
  const { daemon, cli } = where;
  const dir = join(ctx.work, "ours");
  const config = join(dir, "processes.yaml");
  const stateDir = join(dir, "state");
  const runtimeDir = join(dir, "run");
  const sock = join(runtimeDir, "dd-procmgrd.sock");
  const env = {
    ...toolEnv(),
    PM_ADDRESS: `unix:${sock}`,
    PM_TOKEN_PATH: join(runtimeDir, "dd-procmgrd.token"),
    [markerKey]: runId,
  };
  const pmcli = (args, opts = {}) =>
    run(cli.cmd, [...cli.args, ...args], { env, timeoutMs: 600_000, ...opts });
  let child = null;
  let pid = 0;
  let names = [];

  return {
    id: "ours",
    label: "ours",
    how: `${daemon.how} + ${cli.how}`,
    get pid() {
      return pid;
    },
    listCommand: "pm-cli list -o json",
    /** Any pm-cli command against this daemon (`run`'s options: `check: false`...). */
    cli: pmcli,
    listCount: (stdout) => JSON.parse(stdout).length,
    /** Start the daemon with `specs` in its processes.yaml (none by default). */
    async start(specs = []) {
      mkdirSync(stateDir, { recursive: true });
      mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
      writeFileSync(config, yamlFor(specs));
      names = specs.map((s) => s.name);
      const port = await freePort();
      const out = openSync(join(dir, "daemon.log"), "a");
      const prof =
        ctx.profileDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", ctx.profileDir];
      child = startBackground(
        daemon.cmd,
        [
          ...prof,
          ...daemon.args,
          "--config",
          config,
          "--state-dir",
          stateDir,
          "--socket",
          sock,
          "--bind",
          `127.0.0.1:${port}`,
        ],
        {
          env: {
            ...toolEnv(),
            PM_RUNTIME_DIR: runtimeDir,
            PM_STATE_DIR: stateDir,
            // For experiments (e.g. "--max-semi-space-size=1"): V8/Node flags for our daemon only.
            ...(ctx.nodeOptions ? { NODE_OPTIONS: ctx.nodeOptions } : {}),
          },
          stdio: ["ignore", out, out],
        },
      );
      pid = /** @type {number} */ (child.pid);
      await waitFor(() => existsSync(sock) || !exists(pid), {
        timeoutMs: 30_000,
        what: "dd-procmgrd socket",
      });
      if (!exists(pid)) throw new Error(`dd-procmgrd exited at start: see ${dir}/daemon.log`);
      for (let i = 0; ; i++) {
        const r = await pmcli(["list", "-o", "json"], { check: false });
        if (r.code === 0) break;
        if (i > 100) throw new Error(`dd-procmgrd not answering: ${r.stderr}`);
        await sleep(50);
      }
    },
    async define(specs) {
      writeFileSync(config, yamlFor(specs));
      names = specs.map((s) => s.name);
      await pmcli(["reload-config"]);
    },
    startAll: () => pmcli(["start", ...names]),
    stopAll: () => pmcli(["stop", ...names]),
    async deleteAll() {
      writeFileSync(config, yamlFor([]));
      names = [];
      await pmcli(["reload-config"]);
    },
    list: () => pmcli(["list", "-o", "json"]),
    async listedPids() {
      const r = await pmcli(["list", "-o", "json"]);
      return JSON.parse(r.stdout)
        .map((p) => p.pid)
        .filter((p) => typeof p === "number" && p > 0);
    },
    async shutdown() {
      if (pid === 0) return;
      killTracked(pid, "SIGTERM");
      try {
        await waitFor(() => !exists(pid), { timeoutMs: 60_000, what: "dd-procmgrd exit" });
      } catch {
        killTracked(pid, "SIGKILL");
        await sleep(100);
      }
      pid = 0;
    },
  };
}
