import { access, mkdir, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import {
  ConfigError,
  checkAgainstHost,
  type DaemonSettings,
  defaultConfigText,
  formatConfigError,
  loadConfig,
  resolveDaemonSettings,
} from "@procmgr/config";
import { Supervisor } from "@procmgr/core";
import { type DaemonArgs, parseArgs, usage, valueFlags } from "./args.js";
import { Daemon } from "./daemon.js";
import { DaemonError } from "./errors.js";
import { createLogger } from "./logger.js";
import { VERSION } from "./version.js";

export interface MainIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

const defaultIo: MainIo = { stdout: process.stdout, stderr: process.stderr };

function uid(): number {
  return typeof process.getuid === "function" ? process.getuid() : 0;
}

function resolveSettings(args: DaemonArgs, env: NodeJS.ProcessEnv): DaemonSettings {
  const flags: Record<string, string | boolean> = {};
  for (const key of Object.values(valueFlags)) {
    const value = args[key];
    if (value !== undefined) flags[key] = value;
  }
  if (args.allowRemote) flags.allowRemote = true;
  const settings = resolveDaemonSettings({ flags, env, uid: uid(), home: env.HOME ?? homedir() });
  return args.noTcp ? { ...settings, bindAddress: null } : settings;
}

/** `--check-config [PATH]`: 0 valid (summary on stdout), 1 invalid (every error on stderr). */
export async function checkConfig(path: string, io: MainIo): Promise<number> {
  try {
    const loaded = await loadConfig(path);
    if (loaded.missing) {
      io.stderr.write(`${path}: no such file\n`);
      return 1;
    }
    const issues = await checkAgainstHost(loaded.processes);
    if (issues.length > 0) {
      for (const i of issues) io.stderr.write(`${i.file ?? path}: ${i.path}: ${i.message}\n`);
      return 1;
    }
    const names = loaded.processes.map((p) => p.name);
    const auto = loaded.processes.filter((p) => p.autoStart).length;
    io.stdout.write(
      `${path}: OK, ${names.length} process${names.length === 1 ? "" : "es"}` +
        `${names.length > 0 ? ` (${names.join(", ")})` : ""}, ${auto} auto-start` +
        `${loaded.files.length > 1 ? `, ${loaded.files.length} files` : ""}\n`,
    );
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr.write(`${formatConfigError(e)}\n`);
      return 1;
    }
    throw e;
  }
}

/** `--init-config`: writes the embedded default config if the file is missing. */
export async function initConfig(path: string, io: MainIo): Promise<void> {
  try {
    await access(path);
    io.stderr.write(`config ${path} exists; leaving it as it is\n`);
    return;
  } catch {
    // missing: write it
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await writeFile(path, defaultConfigText, { flag: "wx", mode: 0o644 });
  io.stderr.write(`wrote the default config to ${path}\n`);
}

/**
 * dd-procmgrd. `argv` are the arguments after the program (process.argv.slice(2)). Resolves with
 * the exit code once the daemon has stopped (SIGTERM/SIGINT) or failed to start.
 */
export async function main(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: MainIo = defaultIo,
): Promise<number> {
  let args: DaemonArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    io.stderr.write(`dd-procmgrd: ${(e as Error).message}\n\n${usage}`);
    return 2;
  }
  if (args.help) {
    io.stdout.write(usage);
    return 0;
  }
  if (args.version) {
    io.stdout.write(`dd-procmgrd ${VERSION} (node ${process.version})\n`);
    return 0;
  }
  let settings: DaemonSettings;
  try {
    settings = resolveSettings(args, env);
  } catch (e) {
    const msg = e instanceof ConfigError ? formatConfigError(e) : (e as Error).message;
    io.stderr.write(`dd-procmgrd: ${msg}\n`);
    return 2;
  }
  if (args.checkConfig) return await checkConfig(args.checkConfigPath ?? settings.configPath, io);
  if (args.initConfig) {
    try {
      await initConfig(settings.configPath, io);
    } catch (e) {
      io.stderr.write(
        `dd-procmgrd: cannot write ${settings.configPath}: ${(e as Error).message}\n`,
      );
      return 1;
    }
  }
  return await runDaemon(settings, env);
}

async function runDaemon(settings: DaemonSettings, env: NodeJS.ProcessEnv): Promise<number> {
  const log = createLogger({
    level: settings.logLevel,
    format: settings.logFormat,
    journal: env.JOURNAL_STREAM !== undefined && env.JOURNAL_STREAM !== "",
  });
  const supervisor = new Supervisor({
    stateDir: settings.stateDir,
    // The daemon's runtime dir (0755 as root): notify processes of any user reach the socket.
    notifySocket: join(settings.runtimeDir, "notify"),
    defaultOutput: settings.processOutput,
    pipeDir: join(settings.runtimeDir, "fifo"),
  });
  const daemon = new Daemon({ settings, logger: log, supervisor });
  let stopRequested: ((signal: string) => void) | undefined;
  const stopSignal = new Promise<string>((resolve) => {
    stopRequested = resolve;
  });
  let stopping = false;
  const onTerm = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn(`${signal} received while stopping; still stopping processes gracefully`);
      return;
    }
    stopping = true;
    log.info(`${signal} received: stopping every process`);
    stopRequested?.(signal);
  };
  const onHup = () => {
    if (stopping) return;
    void daemon.hangup();
  };
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onTerm);
  process.on("SIGHUP", onHup);
  try {
    try {
      await daemon.start();
    } catch (e) {
      const msg =
        e instanceof ConfigError
          ? `invalid config:\n${formatConfigError(e)}`
          : e instanceof DaemonError
            ? e.message
            : ((e as Error).stack ?? String(e));
      log.error(`cannot start: ${msg}`);
      await daemon.stop();
      return 1;
    }
    await stopSignal;
    await daemon.stop();
    return 0;
  } finally {
    process.off("SIGTERM", onTerm);
    process.off("SIGINT", onTerm);
    process.off("SIGHUP", onHup);
  }
}
