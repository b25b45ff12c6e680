/**
 * Performs planned steps idempotently: each step is first checked against the machine and only
 * run when something differs ("unchanged" otherwise). Commands run with sudo when asked (a system
 * variant installed by a non-root user). A failing step throws a UnitError "step-failed", naming the
 * command and its stderr.
 */
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import {
  type CommandResult,
  lookupUser,
  PlatformError,
  runCommand,
  shellJoin,
} from "@procmgr/platform";
import { UnitError } from "../errors.js";
import { describeStep, octal, type Step, stepCommand } from "./plan.js";

export type StepOutcome = "changed" | "unchanged" | "warning" | "planned";

export interface StepResult {
  step: Step;
  outcome: StepOutcome;
  /** The command(s) actually run, or why a step was skipped or only warned. */
  detail?: string;
}

export interface ApplyOptions {
  /** Prefix every command with sudo. */
  sudo: boolean;
  /** Print the steps, change nothing. */
  dryRun: boolean;
  env: NodeJS.ProcessEnv;
  /** One line per step as it completes. */
  report: (line: string) => void;
}

/** The first directory of PATH (plus the sbin dirs) holding an executable `name`. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const dirs = (env.PATH ?? "").split(delimiter).concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
  for (const d of dirs) {
    if (d !== "" && existsSync(join(d, name))) return join(d, name);
  }
  return undefined;
}

/** Parses "caps+flags" / getcap's "PATH caps=flags" (or "PATH = caps+flags") into a key. */
function capsKey(text: string): string | undefined {
  const m = text.trim().match(/([a-z_,]+)\s*[+=]\s*([eip]+)$/);
  if (m === null) return undefined;
  const caps = (m[1] ?? "").split(",").filter(Boolean).sort();
  const flags = [...(m[2] ?? "")].sort().join("");
  return `${caps.join(",")}+${flags}`;
}

/** True when getcap's output shows exactly the wanted file capabilities. */
export function sameCaps(getcapOutput: string, wanted: string): boolean {
  const have = capsKey(getcapOutput);
  return have !== undefined && have === capsKey(wanted);
}

interface Meta {
  type: string;
  mode: number;
  owner: string;
  group: string;
}

class Executor {
  /** A unit file changed in this run: daemon-reload is due. */
  unitChanged = false;
  /** A binary or the unit changed: a running service must be restarted. */
  serviceChanged = false;

  constructor(private readonly options: ApplyOptions) {}

  run(argv: readonly string[], input?: string): Promise<CommandResult> {
    // Node's stdin "pipe" is a socket, which `install /dev/stdin` cannot open: feed a real pipe
    const fed = input !== undefined && argv.includes("/dev/stdin");
    const cmd = fed ? ["sh", "-c", 'cat | "$@"', "sh", ...argv] : [...argv];
    const full = this.options.sudo ? ["sudo", ...cmd] : cmd;
    return runCommand(
      full,
      input === undefined ? { env: this.options.env } : { env: this.options.env, input },
    );
  }

  /** Runs a command that must succeed. */
  async must(argv: readonly string[], input?: string): Promise<string> {
    const r = await this.run(argv, input);
    if (r.code !== 0) {
      const shown = shellJoin(this.options.sudo ? ["sudo", ...argv] : argv);
      const why = (r.stderr || r.stdout).trim() || `exit code ${r.code}`;
      throw new UnitError("step-failed", `step failed: ${shown}\n${why}`);
    }
    return shellJoin(argv);
  }

  async meta(path: string): Promise<Meta | undefined> {
    const r = await this.run(["stat", "-c", "%F|%a|%U|%G", path]);
    if (r.code !== 0) return undefined;
    const [type = "", mode = "0", owner = "", group = ""] = r.stdout.trim().split("|");
    return { type, mode: Number.parseInt(mode, 8), owner, group };
  }

  static metaOk(meta: Meta, want: { mode?: number; owner?: string; group?: string }): boolean {
    return (
      (want.mode === undefined || (meta.mode & 0o7777) === want.mode) &&
      (want.owner === undefined || meta.owner === want.owner) &&
      (want.group === undefined || meta.group === want.group)
    );
  }

  /** Fixes owner and mode of an existing file whose content is right. */
  async fixMeta(
    path: string,
    meta: Meta,
    want: { mode: number; owner?: string; group?: string },
  ): Promise<StepResult["outcome"] | string> {
    if (Executor.metaOk(meta, want)) return "unchanged";
    const done: string[] = [];
    if (want.owner !== undefined || want.group !== undefined) {
      const spec = `${want.owner ?? ""}${want.group !== undefined ? `:${want.group}` : ""}`;
      done.push(await this.must(["chown", spec, path]));
    }
    done.push(await this.must(["chmod", octal(want.mode), path]));
    return done.join("; ");
  }

  async apply(step: Step): Promise<StepResult> {
    const unchanged: StepResult = { step, outcome: "unchanged" };
    const cmd = stepCommand(step);
    switch (step.kind) {
      case "user":
        return (await this.userExists(step.name)) ? unchanged : this.changed(step, cmd);
      case "deluser":
        return (await this.userExists(step.name)) ? this.changed(step, cmd) : unchanged;
      case "dir": {
        const meta = await this.meta(step.path);
        if (meta?.type === "directory" && Executor.metaOk(meta, step)) return unchanged;
        return this.changed(step, cmd);
      }
      case "install":
        return this.install(step, cmd);
      case "symlink": {
        const r = await this.run(["readlink", step.path]);
        return r.code === 0 && r.stdout.trim() === step.target
          ? unchanged
          : this.changed(step, cmd);
      }
      case "file":
        return this.file(step, cmd);
      case "setcap":
        return this.setcap(step, cmd);
      case "systemctl":
        return this.systemctl(step, cmd);
      case "remove": {
        const r = await this.run(["test", "-e", step.path, "-o", "-L", step.path]);
        if (r.code !== 0) return unchanged;
        if (step.path.endsWith(".service")) this.unitChanged = true;
        return this.changed(step, cmd);
      }
    }
  }

  /** Runs the step's command (which must succeed): the step changed something. */
  async changed(step: Step, argv: readonly string[], input?: string): Promise<StepResult> {
    return { step, outcome: "changed", detail: await this.must(argv, input) };
  }

  async userExists(name: string): Promise<boolean> {
    try {
      return (await lookupUser(name)) !== undefined;
    } catch (e) {
      const why = PlatformError.from(e).message;
      throw new UnitError("step-failed", `step failed: getent passwd ${name}\n${why}`, {
        cause: e,
      });
    }
  }

  async install(step: Extract<Step, { kind: "install" }>, cmd: string[]): Promise<StepResult> {
    const meta = await this.meta(step.path);
    if (meta?.type === "regular file") {
      const same = await this.run(["cmp", "-s", step.source, step.path]);
      if (same.code === 0) {
        const fixed = await this.fixMeta(step.path, meta, step);
        if (fixed === "unchanged") return { step, outcome: "unchanged" };
        if (step.service) this.serviceChanged = true;
        return { step, outcome: "changed", detail: String(fixed) };
      }
    }
    if (step.service) this.serviceChanged = true;
    return this.changed(step, cmd);
  }

  async file(step: Extract<Step, { kind: "file" }>, cmd: string[]): Promise<StepResult> {
    const meta = await this.meta(step.path);
    if (meta?.type === "regular file") {
      const same =
        step.ifMissing || (await this.run(["cmp", "-s", "-", step.path], step.content)).code === 0;
      if (same) {
        const fixed = await this.fixMeta(step.path, meta, step);
        return fixed === "unchanged"
          ? { step, outcome: "unchanged" }
          : { step, outcome: "changed", detail: fixed };
      }
    }
    if (step.unit) this.unitChanged = true;
    if (step.service) this.serviceChanged = true;
    return this.changed(step, cmd, step.content);
  }

  async setcap(step: Extract<Step, { kind: "setcap" }>, cmd: string[]): Promise<StepResult> {
    if (findExecutable("setcap", this.options.env) === undefined) {
      return {
        step,
        outcome: "warning",
        detail:
          "setcap not found (install libcap2-bin); AmbientCapabilities= in the unit grants the capabilities anyway",
      };
    }
    const have = await this.run(["getcap", step.path]);
    if (have.code === 0 && sameCaps(have.stdout, step.caps)) return { step, outcome: "unchanged" };
    const r = await this.run(cmd);
    if (r.code !== 0) {
      return {
        step,
        outcome: "warning",
        detail: `${shellJoin(cmd)} failed: ${r.stderr.trim()}; AmbientCapabilities= in the unit grants the capabilities anyway`,
      };
    }
    return { step, outcome: "changed", detail: shellJoin(cmd) };
  }

  async systemctl(step: Extract<Step, { kind: "systemctl" }>, cmd: string[]): Promise<StepResult> {
    const base = ["systemctl", ...(step.user ? ["--user"] : [])];
    const unchanged: StepResult = { step, outcome: "unchanged" };
    const query = async (...args: string[]) => (await this.run([...base, ...args])).stdout.trim();
    switch (step.action) {
      case "daemon-reload": {
        if (!this.unitChanged) {
          const need = await query("show", step.unit, "-p", "NeedDaemonReload", "--value");
          if (need !== "yes") return unchanged;
        }
        return { step, outcome: "changed", detail: await this.must(cmd) };
      }
      case "enable": {
        const state = await query("is-enabled", step.unit);
        return state === "enabled"
          ? unchanged
          : { step, outcome: "changed", detail: await this.must(cmd) };
      }
      case "disable": {
        const state = await query("is-enabled", step.unit);
        return ["enabled", "enabled-runtime", "linked", "linked-runtime", "alias"].includes(state)
          ? { step, outcome: "changed", detail: await this.must(cmd) }
          : unchanged;
      }
      case "stop": {
        const state = await query("is-active", step.unit);
        return ["active", "activating", "reloading", "deactivating"].includes(state)
          ? { step, outcome: "changed", detail: await this.must(cmd) }
          : unchanged;
      }
      case "start": {
        const state = await query("is-active", step.unit);
        if (state === "active" && !this.serviceChanged) return unchanged;
        const argv = state === "active" ? [...base, "restart", step.unit] : cmd;
        const detail = await this.must(argv);
        const after = await query("is-active", step.unit);
        if (after !== "active" && after !== "activating" && after !== "reloading") {
          const status = await this.run([...base, "status", "--no-pager", "-n", "20", step.unit]);
          throw new UnitError(
            "step-failed",
            `step failed: ${shellJoin(argv)}: the service is ${after}\n${status.stdout.trim()}`,
          );
        }
        return { step, outcome: "changed", detail };
      }
    }
  }
}

/** Checks and performs each step in order; stops at the first failure (a UnitError "step-failed"). */
export async function applySteps(
  steps: readonly Step[],
  options: ApplyOptions,
): Promise<StepResult[]> {
  const results: StepResult[] = [];
  const prefix = options.sudo ? "sudo " : "";
  if (options.dryRun) {
    for (const step of steps) {
      options.report(`+ ${prefix}${describeStep(step)}`);
      if (step.kind === "file") {
        const text = step.ifMissing ? "(default processes.yaml)\n" : step.content;
        for (const line of text.replace(/\n$/, "").split("\n")) options.report(`    | ${line}`);
      }
      results.push({ step, outcome: "planned" });
    }
    return results;
  }
  const executor = new Executor(options);
  for (const step of steps) {
    const result = await executor.apply(step);
    const label = result.outcome.padEnd(9);
    const line =
      result.outcome === "warning"
        ? `${label}  ${describeStep(step)}: ${result.detail}`
        : result.outcome === "changed"
          ? `${label}  ${prefix}${result.detail ?? shellJoin(stepCommand(step))}`
          : `${label}  ${shellJoin(stepCommand(step))}`;
    options.report(line);
    results.push(result);
  }
  return results;
}
