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
  readonly stdin: Readable;
  readonly stderr: Writable;
}

/**
 * Runs commands, through `sudo -n` when not root. `systemctl` / `journalctl` can be replaced by
 * `$PSH_SYSTEMCTL` / `$PSH_JOURNALCTL` (tests).
 */
export class System {
  readonly isRoot: boolean;
  readonly systemctl: string;
  readonly journalctl: string;
  private readonly options: SystemOptions;

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

  /**
   * Make sure privileged commands can run: root, or `sudo -n true` works, or (on a terminal) the
   * user types the password once for `sudo -v`. Otherwise a PshError "privilege".
   */
  async ensurePrivilege(): Promise<void> {
    if (this.isRoot) return;
    const probe = await this.run(["sudo", "-n", "true"]);
    if (probe.code === 0) return;
    const stdin = this.options.stdin as Readable & { isTTY?: boolean };
    if (stdin.isTTY) {
      const code = await this.runInteractive(["sudo", "-v"]);
      if (code === 0) return;
    }
    const why = probe.stderr.trim() || `sudo -n true exited ${probe.code}`;
    throw new PshError(
      "privilege",
      `psh sys needs root to manage system units, and sudo cannot run without a password here (${why}). ` +
        "Run it from a terminal, run `sudo -v` first, or run it as root (`sudo psh sys ...`; units still run as you).",
    );
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
