/**
 * A real systemd as PID 1 of new PID/mount/UTS/IPC/net/cgroup namespaces, over a RAM overlay of
 * the host's "/" (the repo, with its built dist/, is bind-mounted read-only at the same path, and every
 * write inside vanishes at stop). The namespace setup lives in `e2e/harness/sandbox.sh`; this
 * module launches it, waits for boot, runs commands inside with nsenter and tears it down.
 *
 * Every sandbox is stopped on `stop()`, at process exit, on SIGINT/SIGTERM, and by a systemd
 * timer inside it after a TTL (PROCMGR_SANDBOX_TTL seconds, default 600) if all else fails.
 * Sandboxes left behind by a dead test process are swept at the next `startSandbox`.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  statfsSync,
  writeFileSync,
} from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
}

export interface Sandbox {
  readonly name: string;
  /** Runs argv as root inside the sandbox (all its namespaces, clean environment). */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Runs argv as `user` (runuser -u); XDG_RUNTIME_DIR / DBUS_SESSION_BUS_ADDRESS set when the user's manager runs. */
  execAs(user: string, argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  copyIn(hostPath: string, path: string, mode?: number): Promise<void>;
  writeFile(path: string, content: string, mode?: number): Promise<void>;
  /** Kills everything inside; the cgroup and the state dir are gone afterwards. */
  stop(): Promise<void>;
}

const SYSTEMD = "/lib/systemd/systemd";
const STATE_BASE = process.env.PROCMGR_SANDBOX_BASE ?? "/tmp/procmgr-sandbox";
const CGROUP_PREFIX = "procmgr-sbx.";
const BOOT_TIMEOUT_MS = Number(process.env.PROCMGR_SANDBOX_BOOT_TIMEOUT ?? 60) * 1000;
const INNER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const DEFAULT_EXEC_TIMEOUT_MS = 60_000;

/** The shell half; lives in e2e/harness/ (compiled code is in e2e/dist/harness/). */
export const sandboxScript: string = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "harness",
  "sandbox.sh",
);

/** The repo root, bind-mounted read-only at the same path inside every sandbox. */
export const repoRoot: string = join(dirname(sandboxScript), "..", "..");

function cgroup2Root(): string | undefined {
  for (const dir of ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]) {
    try {
      // CGROUP2_SUPER_MAGIC
      if (statfsSync(dir).type === 0x63677270) return dir;
    } catch {
      // not mounted there
    }
  }
  return undefined;
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? INNER_PATH)
    .split(":")
    .concat(INNER_PATH.split(":"))
    .some((d) => d !== "" && existsSync(join(d, cmd)));
}

let supportCache: { ok: true } | { ok: false; reason: string } | undefined;

/** Whether sandboxes can run here, and if not, why (tests skip with that reason). */
export function sandboxSupport(): { ok: true } | { ok: false; reason: string } {
  supportCache ??= computeSupport();
  return supportCache;
}

function computeSupport(): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== "linux") return { ok: false, reason: "systemd sandbox needs Linux" };
  if (process.getuid?.() !== 0) return { ok: false, reason: "systemd sandbox needs root" };
  if (!existsSync(SYSTEMD)) return { ok: false, reason: `no systemd at ${SYSTEMD}` };
  if (cgroup2Root() === undefined) return { ok: false, reason: "no cgroup2 hierarchy mounted" };
  for (const cmd of ["unshare", "nsenter", "setpriv", "runuser", "pivot_root", "bash"]) {
    if (!onPath(cmd)) return { ok: false, reason: `${cmd} not found on PATH` };
  }
  if (!existsSync(sandboxScript)) return { ok: false, reason: `missing ${sandboxScript}` };
  const probe = spawnSync("bash", [sandboxScript, "probe"], { encoding: "utf8", timeout: 10_000 });
  if (probe.status !== 0) {
    const why = (probe.stderr || probe.error?.message || `exit ${probe.status}`).trim();
    return { ok: false, reason: `the kernel refused new namespaces (unshare): ${why}` };
  }
  return { ok: true };
}

function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // fields after the parenthesised comm; starttime is field 22 overall
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

const live = new Map<string, string>(); // name -> state dir

function stopSync(stateDir: string): void {
  spawnSync("bash", [sandboxScript, "stop", stateDir], { stdio: "ignore", timeout: 30_000 });
}

function onExit(): void {
  for (const dir of live.values()) stopSync(dir);
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  onExit();
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  process.kill(process.pid, signal);
}

let hooksInstalled = false;
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", onExit);
  // only add signal handlers where none exist, so we do not change someone else's handling
  if (process.listenerCount("SIGINT") === 0) process.on("SIGINT", onSignal);
  if (process.listenerCount("SIGTERM") === 0) process.on("SIGTERM", onSignal);
}

/** Stops sandboxes whose owning test process is gone (crash, SIGKILL). */
function sweepStale(): void {
  let entries: string[];
  try {
    entries = readdirSync(STATE_BASE);
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = join(STATE_BASE, entry);
    let owner: string;
    try {
      owner = readFileSync(join(dir, "owner"), "utf8").trim();
    } catch {
      continue; // being created right now, or not ours
    }
    const [pid, start] = owner.split(" ");
    if (pid !== undefined && procStartTime(Number(pid)) === start) continue; // owner alive
    stopSync(dir);
  }
}

let sequence = 0;

function sanitize(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 24);
  return clean === "" ? "sbx" : clean;
}

async function waitFor(check: () => boolean, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return check();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function run(
  command: string,
  args: readonly string[],
  input: Buffer | string | undefined,
  timeoutMs: number,
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (b: Buffer) => out.push(b));
    child.stderr?.on("data", (b: Buffer) => err.push(b));
    // safety net behind the in-sandbox `timeout`: never hang a test forever
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs + 10_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal === null ? -1 : 128),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    child.stdin?.on("error", () => {
      // the command may exit without reading its input
    });
    child.stdin?.end(input);
  });
}

class SystemdSandbox implements Sandbox {
  #stopped = false;
  #stopping: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly stateDir: string,
    readonly pid: number,
  ) {}

  #nsenter(argv: readonly string[], env: Record<string, string>, timeoutMs: number): string[] {
    const envArgs = Object.entries({
      PATH: INNER_PATH,
      TERM: "dumb",
      HOME: "/root",
      LANG: "C.UTF-8",
      SYSTEMD_PAGER: "",
      SYSTEMD_COLORS: "0",
      ...env,
    }).map(([k, v]) => `${k}=${v}`);
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    return [
      "-t",
      String(this.pid),
      "-m",
      "-u",
      "-i",
      "-n",
      "-p",
      "-C",
      "--",
      "/usr/bin/env",
      "-i",
      ...envArgs,
      "timeout",
      "-k",
      "5",
      String(seconds),
      ...argv,
    ];
  }

  #check(): void {
    if (this.#stopped) throw new Error(`sandbox ${this.name} is stopped`);
    if (!alive(this.pid))
      throw new Error(`sandbox ${this.name}: its systemd (pid ${this.pid}) died`);
  }

  async #exec(argv: readonly string[], input: Buffer | string | undefined, options: ExecOptions) {
    this.#check();
    const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    return run("nsenter", this.#nsenter(argv, options.env ?? {}, timeoutMs), input, timeoutMs);
  }

  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.#exec(argv, options.input, options);
  }

  execAs(user: string, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    // resolve the user's home/uid inside, export the user manager's env when it runs
    const script = [
      'u=$1; shift; ent=$(getent passwd "$u") || { echo "no such user: $u" >&2; exit 125; }',
      'uid=$(echo "$ent" | cut -d: -f3); home=$(echo "$ent" | cut -d: -f6)',
      'export HOME="$home" USER="$u" LOGNAME="$u"',
      'if [ -d "/run/user/$uid" ]; then export XDG_RUNTIME_DIR="/run/user/$uid";',
      '  [ -S "/run/user/$uid/bus" ] && export DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus"; fi',
      'cd "$home" 2>/dev/null || cd /',
      'exec runuser -u "$u" -- "$@"',
    ].join("\n");
    return this.#exec(["bash", "-c", script, "execAs", user, ...argv], options.input, options);
  }

  async copyIn(hostPath: string, path: string, mode?: number): Promise<void> {
    const data = await readFile(hostPath);
    const st = mode ?? 0o644;
    await this.#put(path, data, st);
  }

  async writeFile(path: string, content: string, mode = 0o644): Promise<void> {
    await this.#put(path, content, mode);
  }

  async #put(path: string, data: Buffer | string, mode: number): Promise<void> {
    const r = await this.#exec(
      [
        "sh",
        "-c",
        'mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"',
        "put",
        path,
        mode.toString(8),
      ],
      data,
      {},
    );
    if (r.code !== 0) throw new Error(`sandbox ${this.name}: writing ${path} failed: ${r.stderr}`);
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    const r = await run("bash", [sandboxScript, "stop", this.stateDir], undefined, 30_000);
    live.delete(this.name);
    if (r.code !== 0) throw new Error(`sandbox ${this.name}: stop failed: ${r.stderr.trim()}`);
  }
}

/** Boots a sandbox; resolves once `systemctl is-system-running` says running or degraded. */
export async function startSandbox(name: string): Promise<Sandbox> {
  const support = sandboxSupport();
  if (!support.ok) throw new Error(`systemd sandbox unavailable: ${support.reason}`);
  sweepStale();
  const cg2 = cgroup2Root() as string;
  sequence += 1;
  const full = `${sanitize(name)}-${process.pid}-${sequence}`;
  const stateDir = join(STATE_BASE, full);
  const cgroup = join(cg2, `${CGROUP_PREFIX}${full}`);
  mkdirSync(STATE_BASE, { recursive: true, mode: 0o700 });
  mkdirSync(stateDir);
  mkdirSync(join(stateDir, "root"));
  mkdirSync(join(stateDir, "rw"));
  writeFileSync(join(stateDir, "cgroup2root"), cg2);
  writeFileSync(join(stateDir, "cgroup"), cgroup);
  writeFileSync(join(stateDir, "owner"), `${process.pid} ${procStartTime(process.pid)}`);
  live.set(full, stateDir);
  installExitHooks();
  const fail = async (why: string): Promise<never> => {
    let log = "";
    try {
      log = readFileSync(join(stateDir, "console.log"), "utf8").slice(-4000);
    } catch {
      // no log yet
    }
    stopSync(stateDir);
    live.delete(full);
    throw new Error(`sandbox ${full}: ${why}${log ? `\n--- console ---\n${log}` : ""}`);
  };
  try {
    mkdirSync(cgroup);
  } catch (e) {
    return fail(`cannot create cgroup ${cgroup}: ${(e as Error).message}`);
  }
  const consoleFd = openSync(join(stateDir, "console.log"), "a");
  // the launcher moves itself into the sandbox's cgroup, then unshare creates the namespaces
  // and forks the new PID 1 (--kill-child: if unshare dies, the sandbox dies too)
  const launcher = spawn(
    "bash",
    [
      "-c",
      'echo $$ > "$1/cgroup.procs" && exec unshare --mount --propagation private --pid --fork --kill-child=SIGKILL --uts --ipc --net --cgroup -- bash "$2" inner "$3" "$4"',
      "launch",
      cgroup,
      sandboxScript,
      stateDir,
      full,
    ],
    {
      detached: true,
      stdio: ["ignore", consoleFd, consoleFd],
      env: {
        PATH: INNER_PATH,
        PROCMGR_SANDBOX_TTL: process.env.PROCMGR_SANDBOX_TTL ?? "600",
        PROCMGR_SANDBOX_SHARE: repoRoot,
        ...(process.env.PROCMGR_SANDBOX_TMPFS
          ? { PROCMGR_SANDBOX_TMPFS: process.env.PROCMGR_SANDBOX_TMPFS }
          : {}),
      },
    },
  );
  closeSync(consoleFd);
  launcher.unref();
  if (launcher.pid === undefined) return fail("could not spawn the launcher");
  writeFileSync(join(stateDir, "unshare.pid"), String(launcher.pid));
  const pidTmp = join(stateDir, "pid.tmp");
  const started = await waitFor(() => {
    try {
      return readFileSync(pidTmp, "utf8").trim() !== "";
    } catch {
      return false;
    }
  }, 10_000);
  if (!started) return fail("stage 2 did not start");
  renameSync(pidTmp, join(stateDir, "pid"));
  const pid = Number(readFileSync(join(stateDir, "pid"), "utf8").trim());
  // unshare itself leaves the sandbox's cgroup (back to ours): the sub-tree holds only the sandbox
  try {
    const own = readFileSync("/proc/self/cgroup", "utf8").match(/^0::(.*)$/m)?.[1] ?? "/";
    writeFileSync(join(cg2, own, "cgroup.procs"), String(launcher.pid));
  } catch {
    // unshare may already be gone
  }
  const sandbox = new SystemdSandbox(full, stateDir, pid);
  const end = Date.now() + BOOT_TIMEOUT_MS;
  let state = "unknown";
  while (Date.now() < end) {
    if (!alive(pid)) return fail("systemd died during boot");
    try {
      const r = await sandbox.exec(["systemctl", "is-system-running"], { timeoutMs: 5000 });
      state = r.stdout.trim();
    } catch (e) {
      return fail(`boot check failed: ${(e as Error).message}`);
    }
    if (state === "running" || state === "degraded") return sandbox;
    await new Promise((res) => setTimeout(res, 200));
  }
  return fail(`boot timed out (is-system-running: ${state})`);
}

/** For tests of the harness itself: the host path of a sandbox's cgroup sub-tree. */
export function sandboxCgroupPath(sandbox: Sandbox): string | undefined {
  const cg2 = cgroup2Root();
  return cg2 === undefined ? undefined : join(cg2, `${CGROUP_PREFIX}${sandbox.name}`);
}

/** Removes the state base dir when empty (for tidy test runs). */
export function removeEmptyStateBase(): void {
  try {
    rmdirSync(STATE_BASE);
  } catch {
    // not empty or absent
  }
}
