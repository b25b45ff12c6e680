import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import { createProcessManagerConnection, ProcessState } from "@procmgr/rpc";
import { removeDaemonDirs, repoRoot, startDaemon } from "../harness/daemon.js";
import { runCommand } from "../harness/run-command.js";

export const cliBin = join(repoRoot, "apps/cli/bin/pm-cli.js");

/** Why the CLI e2e tests cannot run here, if they cannot. */
export function cliE2eSkipReason(): string | false {
  if (process.getuid?.() !== 0) return "needs root (runs processes as other users)";
  if (!existsSync(join(repoRoot, "apps/daemon/dist/main.js"))) return "daemon not built";
  if (!existsSync(join(repoRoot, "apps/cli/dist/main.js"))) return "cli not built";
  return false;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `check` until it returns a value (not undefined), or fails after timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface TestDaemon {
  readonly dir: string;
  readonly configPath: string;
  readonly socketPath: string;
  readonly port: number;
  readonly tcpAddress: string;
  readonly tokenPath: string;
  readonly pid: number;
  /** "127.0.0.1:<port>" of /metrics, when started with `metrics`. */
  readonly metricsAddress?: string;
  /** Everything the daemon wrote on stderr/stdout so far. */
  output(): string;
  /** Env for the CLI: PM_ADDRESS pointing at the daemon's socket. */
  cliEnv(extra?: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts a real dd-procmgrd (through the e2e daemon harness) on a temp config, state dir,
 * socket and TCP port, ready to answer; with `metrics`, /metrics on a free port too.
 */
export async function startTestDaemon(
  config = "processes: {}\n",
  options: { metrics?: boolean } = {},
): Promise<TestDaemon> {
  const d = await startDaemon({ config, openDirs: true, metrics: options.metrics === true });
  return {
    ...(d.metricsAddress !== undefined ? { metricsAddress: d.metricsAddress } : {}),
    dir: d.dir,
    configPath: d.configPath,
    socketPath: d.socketPath,
    port: d.port,
    tcpAddress: d.tcpAddress,
    tokenPath: d.tokenPath,
    pid: d.pid,
    output: () => d.output(),
    cliEnv: (extra = {}) => ({
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/root",
      PM_ADDRESS: `unix:${d.socketPath}`,
      ...extra,
    }),
    stop: async () => {
      await d.stop();
      await removeDaemonDirs(d);
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  env: Record<string, string>;
  cwd?: string;
  uid?: number;
  gid?: number;
  timeoutMs?: number;
}

/** Runs the real `pm-cli` bin to completion. */
export async function runCli(args: readonly string[], options: CliRunOptions): Promise<CliResult> {
  const r = await runCommand(process.execPath, [cliBin, ...args], {
    ...options,
    cwd: options.cwd ?? repoRoot,
  });
  return { code: r.code ?? (r.signal ? 128 : -1), stdout: r.stdout, stderr: r.stderr };
}

export interface RunningCli {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout contains text. */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
  /** SIGINT, then the exit code. */
  interrupt(): Promise<number>;
}

/** Starts a long-running `pm-cli` (logs -f, events). */
export function spawnCli(args: readonly string[], options: CliRunOptions): RunningCli {
  const child = spawn(process.execPath, [cliBin, ...args], {
    env: options.env,
    cwd: options.cwd ?? repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const waiters: (() => void)[] = [];
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString();
    for (const w of [...waiters]) w();
  });
  child.stderr.on("data", (c: Buffer) => {
    err += c.toString();
  });
  const closed = new Promise<number>((resolve) =>
    child.once("close", (code, signal) => resolve(code ?? (signal ? 128 : -1))),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitForOutput: (text, timeoutMs = 20_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (out.includes(text)) {
            cleanup();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `timed out waiting for ${JSON.stringify(text)}; stdout: ${out}; stderr: ${err}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          const i = waiters.indexOf(check);
          if (i >= 0) waiters.splice(i, 1);
        };
        waiters.push(check);
        check();
        void closed.then(() => {
          if (!out.includes(text)) {
            cleanup();
            reject(
              new Error(`pm-cli exited before printing ${JSON.stringify(text)}; stderr: ${err}`),
            );
          }
        });
      }),
    interrupt: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await closed;
      clearTimeout(killer);
      return code;
    },
  };
}

/** `pm-cli list -o json` parsed. */
export async function listJson(env: Record<string, string>): Promise<Record<string, unknown>[]> {
  const r = await runCli(["list", "-o", "json"], { env });
  if (r.code !== 0) throw new Error(`list failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>[];
}

/** Waits until the named process is in one of the states (asking the daemon directly). */
export async function waitForState(
  daemon: TestDaemon,
  name: string,
  states: readonly string[],
  timeoutMs = 20_000,
): Promise<{ state: string; pid: number }> {
  const conn = createProcessManagerConnection({ kind: "unix", path: daemon.socketPath });
  try {
    return await waitFor(
      `${name} to be ${states.join("/")}`,
      async () => {
        const { processes } = await conn.client.list({});
        const p = processes.find((x) => x.name === name);
        const state = p ? (ProcessState[p.state] ?? "").toLowerCase() : "";
        return p !== undefined && states.includes(state) ? { state, pid: p.pid } : undefined;
      },
      timeoutMs,
    );
  } finally {
    conn.close();
  }
}
