import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { access, constants, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, delimiter, dirname, isAbsolute, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { type CommandResult, runCommand } from "@procmgr/platform";
import { PshError } from "./errors.js";

export interface SystemOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly uid: number;
  /** Who runs psh (named in errors: whose sudo rights are missing). */
  readonly user: string;
  readonly stdin: Readable;
  readonly stderr: Writable;
}

/** The commands psh runs through sudo; the sudoers line suggested in errors lists all of them. */
export const privilegedTools = ["systemctl", "journalctl", "install", "rm"] as const;
export type PrivilegedTool = (typeof privilegedTools)[number];

/**
 * Runs commands, through `sudo -n` when not root. `systemctl` / `journalctl` can be replaced by
 * `$PSH_SYSTEMCTL` / `$PSH_JOURNALCTL` (tests).
 */
export class System {
  readonly isRoot: boolean;
  readonly systemctl: string;
  readonly journalctl: string;
  private readonly options: SystemOptions;
  /** `sudo -v` ran (it asks for the password at most once a run). */
  private validated = false;
  /** Commands `sudo -n -l` said this user may run. */
  private readonly granted = new Set<string>();

  constructor(options: SystemOptions) {
    this.options = options;
    this.isRoot = options.uid === 0;
    this.systemctl = options.env.PSH_SYSTEMCTL || "systemctl";
    this.journalctl = options.env.PSH_JOURNALCTL || "journalctl";
  }

  /** The argv actually run for a privileged command. */
  privileged(argv: readonly string[]): string[] {
    return this.isRoot ? [...argv] : ["sudo", "-n", "--", ...argv];
  }

  /** The executable run for a tool (`$PSH_SYSTEMCTL` / `$PSH_JOURNALCTL` honoured). */
  tool(tool: PrivilegedTool): string {
    if (tool === "systemctl") return this.systemctl;
    if (tool === "journalctl") return this.journalctl;
    return tool;
  }

  /**
   * Make sure `tools` can run privileged, before anything is changed: root, or `sudo -n -l`
   * allows each of them, or (stdin a terminal) after the user typed the password once for
   * `sudo -v`, whose timestamp the following `sudo -n` calls reuse. Otherwise a PshError
   * "privilege" saying what to do; `purpose` says what root is needed for.
   */
  async ensurePrivilege(tools: readonly PrivilegedTool[], purpose: string): Promise<void> {
    const problem = await this.privilegeProblem(tools, purpose);
    if (problem !== null) throw new PshError("privilege", await this.advice(problem, purpose));
  }

  /** Like ensurePrivilege, but answers whether privilege is there instead of throwing. */
  async hasPrivilege(tools: readonly PrivilegedTool[], purpose: string): Promise<boolean> {
    return (await this.privilegeProblem(tools, purpose)) === null;
  }

  /** Why `tools` cannot run privileged (sudo's own words where it gave some), or null. */
  private async privilegeProblem(
    tools: readonly PrivilegedTool[],
    purpose: string,
  ): Promise<string | null> {
    if (this.isRoot) return null;
    if ((await whichExecutable("sudo", this.options.env)) === null) {
      return "sudo is not installed";
    }
    const denied = await this.sudoDenied(tools);
    if (denied === null || !this.onTerminal || this.validated) return denied;
    this.validated = true;
    this.options.stderr.write(
      `psh sys: root is needed ${purpose}: sudo may ask for ${this.options.user}'s password (once).\n`,
    );
    const code = await this.runInteractive(["sudo", "-v"]);
    if (code !== 0) return `sudo -v exited ${code}; sudo said why above`;
    return this.sudoDenied(tools);
  }

  /** Null when `sudo -n` may run every tool, else what sudo said about the first it refused. */
  private async sudoDenied(tools: readonly PrivilegedTool[]): Promise<string | null> {
    for (const tool of tools) {
      const command = this.tool(tool);
      if (this.granted.has(command)) continue;
      // LC_ALL=C: sudo's words, quoted in the error, in one language.
      const r = await runCommand(["sudo", "-n", "-l", "--", command], {
        env: { ...this.options.env, LC_ALL: "C" },
      });
      if (r.code === 0) {
        this.granted.add(command);
        continue;
      }
      const said = sudoComplaint(r.stderr);
      return said === undefined
        ? `sudo does not let ${this.options.user} run ${command}`
        : `sudo -n -l ${command}: ${said}`;
    }
    return null;
  }

  /** The privilege error: what went wrong, then the ways out that apply here. */
  private async advice(problem: string, purpose: string): Promise<string> {
    const { user } = this.options;
    const paths = await Promise.all(
      privilegedTools.map(
        async (t) => (await whichExecutable(this.tool(t), this.options.env)) ?? `/usr/bin/${t}`,
      ),
    );
    const ways = [
      "run it as root (`sudo psh sys ...`: the units still run as you)",
      `give ${user} sudo rights, e.g. the line \`${user} ALL=(root) NOPASSWD: ${paths.join(", ")}\` in /etc/sudoers.d/psh (edit it with \`visudo -f /etc/sudoers.d/psh\`)`,
    ];
    if (!this.onTerminal) ways.push("run it on a terminal to type the password");
    const last = ways.pop() as string;
    return `root is needed ${purpose}, and ${user} cannot get it through sudo here (${problem}). To fix it: ${ways.join(", ")}, or ${last}.`;
  }

  private get onTerminal(): boolean {
    return (this.options.stdin as Readable & { isTTY?: boolean }).isTTY === true;
  }

  /** Run a command, capturing its output. A missing executable gives code 127. */
  run(argv: readonly string[], options?: { input?: string }): Promise<CommandResult> {
    return runCommand(argv, {
      env: this.options.env,
      ...(options?.input !== undefined ? { input: options.input } : {}),
    });
  }

  /** Run a privileged command (sudo -n when not root). */
  runPrivileged(argv: readonly string[], options?: { input?: string }): Promise<CommandResult> {
    return this.run(this.privileged(argv), options);
  }

  private runInteractive(argv: readonly string[]): Promise<number> {
    return new Promise((resolve) => {
      const [file, ...args] = argv;
      const child = spawn(file as string, args, { env: this.options.env, stdio: "inherit" });
      child.on("error", () => resolve(127));
      child.on("close", (code) => resolve(code ?? 1));
    });
  }

  /** Read a unit file, or null when it does not exist. */
  async readUnit(path: string): Promise<string | null> {
    try {
      return await readFile(path, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return null;
      if (code === "EACCES") {
        const r = await this.runPrivileged(["cat", "--", path]);
        if (r.code === 0) return r.stdout;
      }
      throw new PshError("command-failed", `cannot read ${path}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  /**
   * Write a unit file (mode 0644) atomically: directly when its directory is writable, else
   * through `sudo -n install`.
   */
  async writeUnit(path: string, text: string): Promise<void> {
    const dir = dirname(path);
    if (await writable(dir)) {
      const tmp = join(dir, `.${basename(path)}.${randomBytes(4).toString("hex")}.tmp`);
      try {
        await writeFile(tmp, text, { mode: 0o644 });
        await rename(tmp, path);
      } catch (e) {
        await rm(tmp, { force: true });
        throw new PshError("command-failed", `cannot write ${path}: ${(e as Error).message}`, {
          cause: e,
        });
      }
      return;
    }
    const tmpDir = await mkdtemp(join(tmpdir(), "psh-unit-"));
    try {
      const tmp = join(tmpDir, basename(path));
      await writeFile(tmp, text, { mode: 0o644 });
      const r = await this.runPrivileged(["install", "-m", "0644", "--", tmp, path]);
      if (r.code !== 0) {
        throw new PshError(
          "command-failed",
          `cannot write ${path}: ${r.stderr.trim() || `install exited ${r.code}`}`,
        );
      }
    } finally {
      await rm(tmpDir, { recursive: true, force: true });
    }
  }

  /** Remove a unit file (directly when its directory is writable, else `sudo -n rm`). */
  async removeUnit(path: string): Promise<void> {
    if (await writable(dirname(path))) {
      try {
        await rm(path, { force: true });
      } catch (e) {
        throw new PshError("command-failed", `cannot remove ${path}: ${(e as Error).message}`, {
          cause: e,
        });
      }
      return;
    }
    const r = await this.runPrivileged(["rm", "-f", "--", path]);
    if (r.code !== 0) {
      throw new PshError(
        "command-failed",
        `cannot remove ${path}: ${r.stderr.trim() || `rm exited ${r.code}`}`,
      );
    }
  }
}

async function writable(dir: string): Promise<boolean> {
  try {
    await access(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * sudo's complaint: its last line of stderr, without the warnings it prints before the answer
 * ("unable to resolve host" where the host name is not in /etc/hosts); undefined when none.
 */
function sudoComplaint(stderr: string): string | undefined {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !/unable to resolve host/.test(l));
  return lines.pop();
}

/** Find an executable on `$PATH`, as an absolute path, or null. */
export async function whichExecutable(
  name: string,
  env: NodeJS.ProcessEnv,
): Promise<string | null> {
  if (isAbsolute(name)) return (await executable(name)) ? name : null;
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    if (await executable(candidate)) return candidate;
  }
  return null;
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
