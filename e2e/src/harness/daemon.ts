/**
 * Runs the real dd-procmgrd (`node apps/daemon/bin/dd-procmgrd.js`) on temporary config, state
 * and runtime dirs, its TCP listener on port 0 (the real port is read from its log), and stops
 * it by PID. Every daemon started here is stopped by `stopAllDaemons()` (call it in `after`)
 * and, as a last resort, SIGKILLed when the test process exits.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createProcessManagerConnection, type ProcessManagerConnection } from "@procmgr/rpc";
import { type CommandResult, runCommand } from "./run-command.js";

export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const daemonBin: string = join(repoRoot, "apps", "daemon", "bin", "dd-procmgrd.js");
/** The daemon's single executable, as `pnpm build` makes it (what the install guide installs). */
export const daemonExecutable: string = join(repoRoot, "apps", "daemon", "dist-bin", "dd-procmgrd");

export interface DaemonDirs {
  /** The temporary root holding everything below. */
  readonly dir: string;
  readonly configPath: string;
  readonly stateDir: string;
  readonly runtimeDir: string;
  readonly socketPath: string;
  readonly tokenPath: string;
}

export interface StartDaemonOptions {
  /** processes.yaml content, written before the start (omit: no config file). */
  readonly config?: string;
  /** Reuse the dirs of an earlier daemon (restart with the same state). */
  readonly dirs?: DaemonDirs;
  /** Extra environment (e.g. METRICS_ENABLED). */
  readonly env?: Readonly<Record<string, string>>;
  readonly args?: readonly string[];
  /** Serve /metrics on a free port (METRICS_ENABLED=true, METRICS_PORT=0). */
  readonly metrics?: boolean;
  /** Make the temp dirs traversable by other users (for the non-root tests). */
  readonly openDirs?: boolean;
  /** Run the single executable (apps/daemon/dist-bin/dd-procmgrd) instead of the bin script. */
  readonly executable?: boolean;
  /**
   * Run the daemon as this user (the test runs as root): its dirs are given to it. What a
   * daemon may be made to do (fuzzing) then reaches no further than that user can.
   */
  readonly user?: { readonly uid: number; readonly gid: number };
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface DaemonInstance extends DaemonDirs {
  readonly pid: number;
  /** "127.0.0.1:<port>" (the bind address with its real port, without https://) */
  readonly tcpAddress: string;
  readonly port: number;
  /** "127.0.0.1:<port>" of /metrics when enabled. */
  readonly metricsAddress?: string;
  readonly exited: Promise<ExitStatus>;
  /** Everything written to stderr so far. */
  output(): string;
  /** Resolves with the first line matching `pattern` written after offset `from`. */
  waitForOutput(pattern: RegExp, from?: number): Promise<string>;
  token(): Promise<string>;
  /** A client (@procmgr/rpc) over the unix socket, TCP without a token, or TCP with the token. */
  connect(kind: "unix" | "tcp" | "tcp+token"): Promise<ProcessManagerConnection>;
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<ExitStatus>;
  /** SIGKILL and wait for the exit (children are left behind, as in a crash). */
  crash(): Promise<ExitStatus>;
}

const running = new Set<ChildProcess>();
const connections = new Set<ProcessManagerConnection>();

process.once("exit", () => {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

export async function makeDaemonDirs(openDirs = false): Promise<DaemonDirs> {
  const dir = await mkdtemp(join(tmpdir(), "pm-e2e-"));
  const runtimeDir = join(dir, "run");
  await mkdir(runtimeDir, { mode: 0o700 });
  await mkdir(join(dir, "etc"));
  if (openDirs) {
    await chmod(dir, 0o755);
    await chmod(runtimeDir, 0o755);
  }
  return {
    dir,
    configPath: join(dir, "etc", "processes.yaml"),
    stateDir: join(dir, "state"),
    runtimeDir,
    socketPath: join(runtimeDir, "dd-procmgrd.sock"),
    tokenPath: join(runtimeDir, "dd-procmgrd.token"),
  };
}

/** The environment that points a daemon at its dirs (and nothing of the host's). */
export function daemonEnv(dirs: DaemonDirs, extra: Readonly<Record<string, string>> = {}) {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dirs.dir,
    PM_CONFIG_PATH: dirs.configPath,
    PM_STATE_DIR: dirs.stateDir,
    PM_RUNTIME_DIR: dirs.runtimeDir,
    PM_SOCKET_PATH: dirs.socketPath,
    PM_BIND_ADDRESS: "127.0.0.1:0",
    PM_LOG_LEVEL: "debug",
    ...extra,
  };
}

export async function startDaemon(options: StartDaemonOptions = {}): Promise<DaemonInstance> {
  const dirs = options.dirs ?? (await makeDaemonDirs(options.openDirs));
  if (options.config !== undefined) await writeFile(dirs.configPath, options.config);
  const user = options.user;
  if (user !== undefined) {
    for (const p of [dirs.dir, dirs.runtimeDir, dirname(dirs.configPath)]) {
      await chown(p, user.uid, user.gid);
    }
    if (options.config !== undefined) await chown(dirs.configPath, user.uid, user.gid);
  }
  const env = daemonEnv(dirs, {
    ...(options.metrics === true ? { METRICS_ENABLED: "true", METRICS_PORT: "0" } : {}),
    ...options.env,
  });
  const [cmd, ...pre] =
    options.executable === true ? [daemonExecutable] : [process.execPath, daemonBin];
  const child = spawn(cmd, [...pre, ...(options.args ?? [])], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
    ...(user === undefined ? {} : { uid: user.uid, gid: user.gid }),
  });
  running.add(child);
  let text = "";
  const waiters = new Set<() => void>();
  child.stderr?.on("data", (c: Buffer) => {
    text += c.toString();
    for (const w of waiters) w();
  });
  let done = false;
  const exited = new Promise<ExitStatus>((res) => {
    child.once("exit", (code, signal) => {
      running.delete(child);
      done = true;
      for (const w of [...waiters]) w();
      res({ code, signal });
    });
  });

  const waitForOutput = (pattern: RegExp, from = 0): Promise<string> =>
    new Promise((res, rej) => {
      const check = () => {
        const lines = text.slice(from).split("\n");
        const hit = lines.find((l) => pattern.test(l));
        if (hit !== undefined) {
          waiters.delete(check);
          res(hit);
        } else if (done) {
          waiters.delete(check);
          rej(new Error(`dd-procmgrd exited before logging ${pattern}:\n${text}`));
        }
      };
      waiters.add(check);
      check();
    });

  let ready: string;
  try {
    ready = await waitForOutput(/Process Manager ready/);
  } catch (e) {
    // Dirs made here for a daemon that never came up would be left behind.
    if (options.dirs === undefined) await removeDaemonDirs(dirs);
    throw e;
  }
  // The TCP listener after the socket: "127.0.0.1:<port>", "https://0.0.0.0:<port>"...
  const tcp = / addresses=unix:[^,\s]*,(?:https:\/\/)?(\S+:\d+)/.exec(ready)?.[1];
  const tcpAddress = tcp ?? "";
  const metrics = /metrics enabled addr=http:\/\/([^/]+)\/metrics/.exec(text)?.[1];

  const instance: DaemonInstance = {
    ...dirs,
    pid: child.pid as number,
    tcpAddress,
    port: Number(tcpAddress.slice(tcpAddress.lastIndexOf(":") + 1)),
    ...(metrics !== undefined ? { metricsAddress: metrics } : {}),
    exited,
    output: () => text,
    waitForOutput,
    token: async () => (await readFile(dirs.tokenPath, "utf8")).trim(),
    async connect(kind) {
      const c =
        kind === "unix"
          ? createProcessManagerConnection({ kind: "unix", path: dirs.socketPath })
          : createProcessManagerConnection(
              tcpAddress,
              kind === "tcp+token" ? { token: await instance.token() } : {},
            );
      connections.add(c);
      return c;
    },
    signal(signal) {
      if (!done) process.kill(child.pid as number, signal);
    },
    async stop() {
      instance.signal("SIGTERM");
      return await exited;
    },
    async crash() {
      instance.signal("SIGKILL");
      return await exited;
    },
  };
  return instance;
}

/** Closes every client made by `connect` and stops every daemon still running (by PID). */
export async function stopAllDaemons(): Promise<void> {
  for (const c of connections) c.close();
  connections.clear();
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((res) => {
          if (child.exitCode !== null || child.signalCode !== null) return res();
          const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
          child.once("exit", () => {
            clearTimeout(timer);
            res();
          });
          child.kill("SIGTERM");
        }),
    ),
  );
}

export async function removeDaemonDirs(dirs: DaemonDirs): Promise<void> {
  await rm(dirs.dir, { recursive: true, force: true });
}

/** Runs dd-procmgrd to completion (e.g. `--check-config`). */
export function runDaemonCommand(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<CommandResult> {
  return runCommand(process.execPath, [daemonBin, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
  });
}

/** True while a process with this PID exists and is not a zombie. */
/** PIDs of every process on the machine whose argv is exactly `argv`. */
export async function pidsRunning(argv: readonly string[]): Promise<number[]> {
  const want = `${argv.join("\0")}\0`;
  const out: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if ((await readFile(`/proc/${entry}/cmdline`, "utf8")) === want) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
