/**
 * The launcher: what a process runs as and with (identity, environment, working directory,
 * runtime directories), its hooks (exec_start_pre, exec_start_post, exec_stop_post), and the
 * spawn of its command with the output relayed. It decides no state: it answers what happened
 * (a run, or why there is none) and the lifecycle moves the state.
 *
 * No shell: argv is exec'd directly (through `setpriv` when the user or the capabilities
 * change), `detached` so each child leads its own session and process group (pgid = pid). Only
 * when the child must do something with its own pid before the program runs (enter its cgroup,
 * set WATCHDOG_PID) does a `/bin/sh` prelude do it and exec the rest in its place (`prelude`).
 * Hooks run as control processes (control-processes.ts): a daemon crash leaves none running.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, chownSync, closeSync, constants, mkdirSync, rmSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import type { PathCondition, ProcessConfig } from "@procmgr/config";
import type { Cgroups, ProcessCgroup } from "./cgroups.js";
import type { Control, ControlProcesses } from "./control-processes.js";
import { buildEnvironment } from "./environment.js";
import type { PipeEnds } from "./fifo-pool.js";
import {
  type DaemonIdentity,
  daemonIdentity,
  type Identity,
  type LaunchPlan,
  planLaunch,
  resolveIdentity,
} from "./identity.js";
import type { Host, LaunchContext, Managed, OutputSink, Owner, Run } from "./managed.js";
import { type OutputRelay, stdioFor } from "./output-relay.js";
import { prelude } from "./prelude.js";
import { signalSafe } from "./proc-fs.js";
import type { PassedSockets } from "./sockets.js";
import { stopDeadline } from "./stopper.js";
import type { ExitResult } from "./types.js";

/** The first unmet ConditionPathExists, described; undefined when all are met. */
export function unmetCondition(conditions: readonly PathCondition[]): string | undefined {
  const exists = (p: string): boolean => {
    try {
      statSync(p);
      return true;
    } catch {
      return false;
    }
  };
  const render = (c: PathCondition): string =>
    `condition_path_exists=${c.anyOf ? "|" : ""}${c.negate ? "!" : ""}${c.path}`;
  const anyOf = conditions.filter((c) => c.anyOf);
  for (const c of conditions) {
    if (c.anyOf) continue;
    if (exists(c.path) === c.negate) return render(c);
  }
  if (anyOf.length > 0 && !anyOf.some((c) => exists(c.path) !== c.negate)) {
    return anyOf.map(render).join(" or ");
  }
  return undefined;
}

/** Whether `command` resolves to an executable (searching PATH when it has no slash). */
function commandExists(command: string, path: string, cwd: string | undefined): boolean {
  const check = (p: string): boolean => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes("/"))
    return check(isAbsolute(command) ? command : resolve(cwd ?? ".", command));
  return path.split(":").some((dir) => dir !== "" && check(join(dir, command)));
}

/** Closes our ends of a child's output pipes: the write ends once the child holds them. */
function closeEnds(out: PipeEnds | undefined, err: PipeEnds | undefined, read: boolean): void {
  for (const p of [out, err]) {
    if (!p) continue;
    closeSync(p.write);
    if (read) closeSync(p.read);
  }
}

/** A start being prepared: the config it started with, what it runs with, what to exec. */
export interface Launch extends LaunchContext {
  readonly config: ProcessConfig;
  readonly plan: LaunchPlan;
  /** Who owns the files made for it (runtime directories, new log files), when not the daemon. */
  readonly owner: Owner | undefined;
  /** The cgroup its child enters before the program runs (made, its limits set). */
  readonly cgroup: ProcessCgroup | undefined;
  /** Its listening sockets, passed as fd 3 on. */
  readonly socketFds: readonly number[];
}

/** How a hook ended. */
export interface HookResult {
  readonly ok: boolean;
  readonly description: string;
}

export class Launcher {
  readonly daemon: DaemonIdentity;
  private readonly host: Host;
  private readonly relay: OutputRelay;
  private readonly runtimeDir: string;
  readonly cgroups: Cgroups;
  private readonly controls: ControlProcesses;

  constructor(host: Host, relay: OutputRelay, runtimeDir: string, controls: ControlProcesses) {
    this.host = host;
    this.relay = relay;
    this.runtimeDir = runtimeDir;
    this.cgroups = controls.cgroups;
    this.controls = controls;
    this.daemon = daemonIdentity();
  }

  /** Whether `config` runs as another user or group than the daemon's. */
  switchesUser(config: ProcessConfig): boolean {
    return config.user !== undefined || config.group !== undefined;
  }

  /** The identity `config` runs as, by getent; IdentityLookupError for an unknown user/group. */
  identity(config: ProcessConfig): Promise<Identity> {
    return resolveIdentity(config.user, config.group, this.daemon.identity);
  }

  /**
   * What a start of `config` runs with, before its hooks: the runtime directories (made, owned
   * by the user), the environment, the working directory (checked), the log files (held open
   * until `spawn`) and the exec plan. Throws why not (an IdentityLookupError when the daemon
   * cannot switch to the user); removing the runtime directories is then the caller's.
   */
  prepare(
    m: Managed,
    config: ProcessConfig,
    identity: Identity,
    notifyEnv: Readonly<Record<string, string>>,
    sockets: PassedSockets,
  ): Launch {
    const switchUser = this.switchesUser(config);
    const owner = switchUser ? { uid: identity.uid, gid: identity.gid } : undefined;
    const sinks = this.relay.sinksOf(m);
    const extra: Record<string, string> = { ...notifyEnv, ...sockets.env };
    if (config.runtimeDirectory.length > 0) {
      extra.RUNTIME_DIRECTORY = this.makeRuntimeDirs(m, config, identity, owner).join(":");
    }
    const env = buildEnvironment(identity, config.environmentFile, config.env, extra);
    if (
      config.workingDir !== undefined &&
      !statSync(config.workingDir, { throwIfNoEntry: false })?.isDirectory()
    ) {
      throw new Error(`working_dir ${config.workingDir} is not a directory`);
    }
    const held: OutputSink[] = [];
    try {
      for (const s of [sinks.stdout, sinks.stderr]) {
        if (s) {
          s.acquire(owner);
          held.push(s);
        }
      }
      const plan = planLaunch(config.argv, identity, this.daemon, {
        switchUser,
        ambientCapabilities: config.ambientCapabilities,
      });
      const cgroup = this.cgroupOf(m, plan);
      // WATCHDOG_PID and LISTEN_PID are the program's own pid, known only after the fork, as
      // systemd sets them in the child (sd_listen_fds() checks LISTEN_PID).
      const ownPid = [
        ...(notifyEnv.WATCHDOG_USEC === undefined ? [] : ["WATCHDOG_PID"]),
        ...(sockets.fds.length === 0 ? [] : ["LISTEN_PID"]),
      ];
      const argv = prelude(cgroup?.procsFiles() ?? [], ownPid, plan.argv);
      return {
        identity,
        env,
        switchUser,
        sinks,
        config,
        plan: { ...plan, argv },
        owner,
        cgroup,
        socketFds: sockets.fds,
      };
    } catch (e) {
      for (const s of held) s.release();
      throw e;
    }
  }

  /**
   * The cgroup a start of `m` enters (made at spawn); undefined without cgroups, or when the
   * child switches users through Node's spawn options (a daemon with file capabilities,
   * identity.ts): the prelude then runs as the user, who may not move itself into a cgroup.
   */
  private cgroupOf(m: Managed, plan: LaunchPlan): ProcessCgroup | undefined {
    const cgroup = this.cgroups.forProcess(m.name);
    if (cgroup !== undefined && plan.uid !== undefined) {
      m.cgroupProblem = `the daemon switches to user ${plan.uid} through file capabilities, and a process may not move itself into a cgroup (give the daemon ambient capabilities instead)`;
      return undefined;
    }
    m.cgroupProblem = undefined;
    return cgroup;
  }

  /** Lets go of the log files `prepare` held open (`spawn` does it itself). */
  release(launch: Launch): void {
    for (const s of [launch.sinks.stdout, launch.sinks.stderr]) s?.release();
  }

  /**
   * exec_start_pre, in order, all within timeout_start_sec: why the start fails, or undefined
   * when every hook succeeded or the start was aborted (the caller checks `signal`).
   */
  async runStartPre(m: Managed, launch: Launch, signal: AbortSignal): Promise<string | undefined> {
    const config = launch.config;
    const deadline =
      config.timeoutStartSec > 0
        ? Date.now() + config.timeoutStartSec * 1000
        : Number.POSITIVE_INFINITY;
    for (const hook of config.execStartPre) {
      const result = await this.runHook(m, hook, launch, signal, deadline);
      if (signal.aborted) return undefined;
      if (!result.ok) {
        return `exec_start_pre ${JSON.stringify(hook.join(" "))} ${result.description}`;
      }
    }
    return undefined;
  }

  /**
   * Spawns the prepared command with its output relayed and lets go of the log files `prepare`
   * held. Answers the run, or why there is none: at once (command not found, spawn threw), or
   * as a promise when Node reports the failure as an 'error' event.
   */
  spawn(
    m: Managed,
    launch: Launch,
    startedAt: Date,
    precedingDelayMs: number,
    stopRequested: boolean,
  ): Run | string | Promise<string> {
    const { config, plan } = launch;
    if (!commandExists(config.argv[0] ?? "", launch.env.PATH ?? "", config.workingDir)) {
      this.release(launch);
      return `command not found: ${config.argv[0]}`;
    }
    try {
      launch.cgroup?.create(config.resourceLimits);
    } catch (e) {
      this.release(launch);
      return (e as Error).message;
    }
    const outPipe = this.relay.takePipe(config.stdout);
    const errPipe = this.relay.takePipe(config.stderr);
    let child: ChildProcess;
    try {
      child = spawn(plan.argv[0] ?? "", plan.argv.slice(1), {
        cwd: config.workingDir,
        env: launch.env,
        detached: true,
        ...(plan.uid !== undefined ? { uid: plan.uid } : {}),
        ...(plan.gid !== undefined ? { gid: plan.gid } : {}),
        stdio: [
          "ignore",
          outPipe?.write ?? stdioFor(config.stdout),
          errPipe?.write ?? stdioFor(config.stderr),
          ...launch.socketFds,
        ],
      });
    } catch (e) {
      closeEnds(outPipe, errPipe, true);
      this.release(launch);
      launch.cgroup?.remove();
      return `spawn failed: ${(e as Error).message}`;
    }
    if (child.pid === undefined) {
      closeEnds(outPipe, errPipe, true);
      return new Promise<string>((done) =>
        child.once("error", (e) => {
          this.release(launch);
          launch.cgroup?.remove();
          done(`spawn failed: ${e.message}`);
        }),
      );
    }
    // The child holds the write ends; ours close now, so EOF comes with its exit.
    closeEnds(outPipe, errPipe, false);
    const pipesClosed = this.relay.relay(m, child, outPipe, errPipe, launch.sinks, launch.owner);
    this.release(launch);
    return newRun(
      child,
      child.pid,
      launch,
      startedAt,
      precedingDelayMs,
      stopRequested,
      pipesClosed,
    );
  }

  /** exec_start_post, in order, in the background; a failure is a warning and ends the list. */
  runStartPost(m: Managed, context: LaunchContext, signal: AbortSignal): void {
    const hooks = m.config.execStartPost;
    void (async () => {
      for (const hook of hooks) {
        const r = await this.runHook(m, hook, context, signal, Number.POSITIVE_INFINITY);
        if (!r.ok) {
          this.host.warn(
            m,
            `exec_start_post ${JSON.stringify(hook.join(" "))} of "${m.name}" ${r.description}`,
          );
          break;
        }
      }
    })();
  }

  /**
   * exec_stop_post, in order, as the process's user with its environment, each within
   * timeout_stop_sec. Failures are warnings; never rejects.
   */
  async runStopPost(m: Managed): Promise<void> {
    const hooks = m.config.execStopPost;
    const switchUser = this.switchesUser(m.config);
    try {
      const identity = switchUser ? await this.identity(m.config) : this.daemon.identity;
      const env = buildEnvironment(identity, m.config.environmentFile, m.config.env, {});
      const context: LaunchContext = { identity, env, switchUser, sinks: this.relay.sinksOf(m) };
      const never = new AbortController().signal;
      for (const hook of hooks) {
        const r = await this.runHook(m, hook, context, never, stopDeadline(m.config));
        if (!r.ok) {
          this.host.warn(
            m,
            `exec_stop_post ${JSON.stringify(hook.join(" "))} of "${m.name}" ${r.description}`,
          );
        }
      }
    } catch (e) {
      this.host.warn(m, (e as Error).message, e);
    }
  }

  /** Runs one hook as the process's user, to its logs; killed (with its group) on abort. */
  runHook(
    m: Managed,
    hook: readonly string[],
    context: LaunchContext,
    signal: AbortSignal,
    deadline: number,
  ): Promise<HookResult> {
    const { identity, env, switchUser, sinks } = context;
    return new Promise((done) => {
      let child: ChildProcess;
      let control: Control | undefined;
      try {
        const plan = planLaunch(hook, identity, this.daemon, {
          switchUser,
          ambientCapabilities: m.config.ambientCapabilities,
        });
        control = this.controls.begin(m.name, plan);
        child = spawn(control.argv[0] ?? "", control.argv.slice(1), {
          cwd: m.config.workingDir,
          env,
          detached: true,
          ...(plan.uid !== undefined ? { uid: plan.uid } : {}),
          ...(plan.gid !== undefined ? { gid: plan.gid } : {}),
          stdio: ["ignore", stdioFor(m.config.stdout), stdioFor(m.config.stderr)],
        });
      } catch (e) {
        control?.end();
        return done({ ok: false, description: `could not run: ${(e as Error).message}` });
      }
      if (child.pid !== undefined) control.spawned(child.pid);
      const owner = switchUser ? { uid: identity.uid, gid: identity.gid } : undefined;
      this.relay.fromStream(m, child.stdout, sinks.stdout, "stdout", owner);
      this.relay.fromStream(m, child.stderr, sinks.stderr, "stderr", owner);
      this.settleHook(child, control, signal, deadline, done);
    });
  }

  /** Waits for a hook's exit within `deadline` (then SIGKILL to its group) or `signal`. */
  private settleHook(
    child: ChildProcess,
    control: Control,
    signal: AbortSignal,
    deadline: number,
    done: (result: HookResult) => void,
  ): void {
    let timedOut = false;
    const kill = (): void => {
      if (child.pid !== undefined) signalSafe(-child.pid, "SIGKILL");
      control.kill();
    };
    const remaining = deadline - Date.now();
    const timer =
      Number.isFinite(remaining) && !Number.isNaN(remaining)
        ? setTimeout(
            () => {
              timedOut = true;
              kill();
            },
            Math.max(0, remaining),
          )
        : undefined;
    signal.addEventListener("abort", kill, { once: true });
    const settle = (r: HookResult): void => {
      if (timer) clearTimeout(timer);
      signal.removeEventListener("abort", kill);
      control.end();
      done(r);
    };
    child.once("error", (e) => settle({ ok: false, description: `could not run: ${e.message}` }));
    child.once("exit", (code, sig) => {
      kill(); // remnants of the hook's group and cgroup
      if (timedOut) settle({ ok: false, description: "timed out (timeout_start_sec)" });
      else if (code === 0) settle({ ok: true, description: "ok" });
      else if (sig) settle({ ok: false, description: `killed by signal ${sig}` });
      else settle({ ok: false, description: `exited with code ${code}` });
    });
  }

  /** Makes the runtime directories of `config` under the runtime base, owned by the user. */
  private makeRuntimeDirs(
    m: Managed,
    config: ProcessConfig,
    identity: Identity,
    owner: Owner | undefined,
  ): string[] {
    const dirs: string[] = [];
    for (const name of config.runtimeDirectory) {
      const dir = resolve(this.runtimeDir, name);
      if (!dir.startsWith(`${resolve(this.runtimeDir)}/`)) {
        throw new Error(`runtime_directory ${name} escapes ${this.runtimeDir}`);
      }
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      if (owner) chownSync(dir, identity.uid, identity.gid);
      dirs.push(dir);
      if (!m.runtimeDirs.includes(dir)) m.runtimeDirs.push(dir);
    }
    return dirs;
  }

  /** Removes the runtime directories of `m` (once it no longer runs). */
  removeRuntimeDirs(m: Managed): void {
    for (const dir of m.runtimeDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** The run of a child just spawned (its `spawn` event still to come). */
function newRun(
  child: ChildProcess,
  pid: number,
  launch: Launch,
  startedAt: Date,
  precedingDelayMs: number,
  stopRequested: boolean,
  pipesClosed: Promise<unknown>,
): Run {
  let resolveDone: (exit: ExitResult) => void = () => {};
  const done = new Promise<ExitResult>((r) => {
    resolveDone = r;
  });
  let resolveReady: () => void = () => {};
  const readyOrOver = new Promise<void>((r) => {
    resolveReady = r;
  });
  void done.then(() => resolveReady());
  return {
    child,
    pid,
    pgid: pid,
    adopted: false,
    startedAt,
    precedingDelayMs,
    owner: launch.owner,
    cgroup: launch.cgroup,
    oomKillsBefore: launch.cgroup?.oomKills() ?? 0,
    spawned: false,
    stopRequested,
    timedOut: false,
    finished: false,
    pipesClosed,
    over: new AbortController(),
    done,
    resolveDone,
    ready: false,
    readyOrOver,
    resolveReady,
    restartAnyway: false,
    healthWaiters: [],
  };
}
