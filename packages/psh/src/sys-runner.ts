import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { type CommandResult, shellJoin } from "@procmgr/platform";
import { PshError } from "./errors.js";
import { type HostProfile, loadHostProfile, resolveHostName } from "./host-profile.js";
import { type InstallUser, lookupInstallUser, selectInstallUserName } from "./install-user.js";
import {
  discoverPsychedRepo,
  findPsychedRepoRoot,
  loadModuleManifest,
  loadServiceManifest,
} from "./psyched-repo.js";
import { type PrivilegedTool, System, whichExecutable } from "./system.js";
import { resolveTargets, type SysTarget, type UnitKind } from "./targets.js";
import { renderModuleUnit, renderServiceUnit, type UnitContext } from "./units.js";

export type SysAction = "setup" | "teardown" | "enable" | "disable" | "up" | "down" | "debug";
export const sysActions: readonly SysAction[] = [
  "setup",
  "teardown",
  "enable",
  "disable",
  "up",
  "down",
  "debug",
];

export interface SysRequest {
  readonly action: SysAction;
  readonly targets: readonly string[];
  readonly module: boolean;
  readonly service: boolean;
  readonly dryRun: boolean;
}

export interface SysIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly uid: number;
  /** The current user's name (os.userInfo().username). */
  readonly currentUser: string;
}

interface Outcome {
  readonly target: SysTarget;
  ok: boolean;
  detail: string;
}

export const defaultSystemdDir = "/etc/systemd/system";

/** What each action runs through sudo when not root, and why (said in the privilege error). */
const privilegeNeeds: Record<
  SysAction,
  { readonly tools: readonly PrivilegedTool[]; readonly purpose: string }
> = {
  setup: { tools: ["install", "systemctl"], purpose: "to write unit files and run systemctl" },
  teardown: { tools: ["systemctl", "rm"], purpose: "to stop, disable and remove units" },
  enable: { tools: ["systemctl"], purpose: "to run systemctl enable" },
  disable: { tools: ["systemctl"], purpose: "to run systemctl disable" },
  up: { tools: ["systemctl"], purpose: "to run systemctl start" },
  down: { tools: ["systemctl"], purpose: "to run systemctl stop" },
  debug: { tools: ["systemctl", "journalctl"], purpose: "to read the units' status and journal" },
};

const systemctlVerb: Record<"enable" | "disable" | "up" | "down", string> = {
  enable: "enable",
  disable: "disable",
  up: "start",
  down: "stop",
};

/**
 * Run one `psh sys <action>`. Returns the exit code: 0 all targets succeeded, 1 one failed (the
 * others still ran; the summary says which), 2 usage mistake (conflicting flags, unknown name).
 */
export async function runSys(request: SysRequest, io: SysIo): Promise<number> {
  try {
    return await runSysUnsafe(request, io);
  } catch (e) {
    if (e instanceof PshError) {
      io.stderr.write(`psh sys ${request.action}: ${e.message}\n`);
      return e.code === "usage" ? 2 : 1;
    }
    throw e;
  }
}

async function runSysUnsafe(request: SysRequest, io: SysIo): Promise<number> {
  if (request.module && request.service) {
    throw new PshError("usage", "--module and --service cannot be used together");
  }
  const only: UnitKind | undefined = request.module
    ? "module"
    : request.service
      ? "service"
      : undefined;
  const repoRoot = await findPsychedRepoRoot(io.env, io.cwd);
  const host = resolveHostName(io.env);
  const profile = await loadHostProfile(repoRoot, host);
  const repo = await discoverPsychedRepo(repoRoot);
  const unitDir = io.env.PSH_SYSTEMD_DIR || defaultSystemdDir;
  const installed = request.action === "setup" ? undefined : await installedUnits(unitDir);
  const targets = resolveTargets({
    targets: request.targets,
    ...(only ? { only } : {}),
    repo,
    profile,
    ...(installed ? { installed } : {}),
  });
  const out = io.stdout;
  if (targets.length === 0) {
    const where = profile
      ? `host profile ${profile.file}`
      : `repo ${repoRoot} (no host profile for ${host})`;
    out.write(
      `psh sys ${request.action}: nothing to do: no enabled ${only ?? "module or service"} in ${where}\n`,
    );
    return 0;
  }
  if (request.dryRun) {
    const what = profile ? profile.file : `no host profile for ${host}`;
    out.write(
      `# psh sys ${request.action} --dry-run (repo ${repoRoot}, ${what}); nothing is changed\n`,
    );
  }

  const system = new System({
    env: io.env,
    uid: io.uid,
    user: io.currentUser,
    stdin: io.stdin,
    stderr: io.stderr,
  });
  const ctx: RunContext = { request, io, system, unitDir, repoRoot, host, profile };
  // Privilege is checked (and a password asked for) once, before anything changes. debug runs
  // without it, showing less.
  if (!request.dryRun && request.action !== "debug") {
    const needs = privilegeNeeds[request.action];
    await system.ensurePrivilege(needs.tools, needs.purpose);
  }
  let outcomes: Outcome[];
  switch (request.action) {
    case "setup":
      outcomes = await setup(ctx, targets);
      break;
    case "teardown":
      outcomes = await teardown(ctx, targets);
      break;
    case "debug":
      outcomes = await debug(ctx, targets);
      break;
    default:
      outcomes = await control(ctx, targets, request.action);
  }
  return summarize(ctx, outcomes);
}

interface RunContext {
  readonly request: SysRequest;
  readonly io: SysIo;
  readonly system: System;
  readonly unitDir: string;
  readonly repoRoot: string;
  readonly host: string;
  readonly profile: HostProfile | null;
}

async function installedUnits(dir: string): Promise<{ modules: string[]; services: string[] }> {
  const modules: string[] = [];
  const services: string[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return { modules, services };
  }
  for (const n of names) {
    const m = /^psh-(module|service)-(.+)\.service$/.exec(n);
    if (!m?.[2]) continue;
    (m[1] === "module" ? modules : services).push(m[2]);
  }
  return { modules, services };
}

function unitPath(ctx: RunContext, target: SysTarget): string {
  return join(ctx.unitDir, target.unit);
}

/** Run (or, with --dry-run, print) a privileged command. */
async function command(ctx: RunContext, argv: readonly string[]): Promise<CommandResult> {
  const shown = shellJoin(ctx.system.privileged(argv));
  if (ctx.request.dryRun) {
    ctx.io.stdout.write(`$ ${shown}\n`);
    return { code: 0, stdout: "", stderr: "" };
  }
  const r = await ctx.system.runPrivileged(argv);
  if (r.stdout) ctx.io.stdout.write(r.stdout);
  if (r.stderr) ctx.io.stderr.write(r.stderr);
  return r;
}

function failure(argv: readonly string[], r: CommandResult): string {
  const last = r.stderr.trim().split("\n").pop();
  return `${shellJoin(argv)} exited ${r.code}${last ? `: ${last}` : ""}`;
}

async function setup(ctx: RunContext, targets: readonly SysTarget[]): Promise<Outcome[]> {
  const { io } = ctx;
  let user: InstallUser | undefined;
  let userError: string | undefined;
  try {
    user = await lookupInstallUser(
      selectInstallUserName({ env: io.env, uid: io.uid, currentUser: io.currentUser }),
    );
  } catch (e) {
    userError = PshError.from(e).message;
  }
  const outcomes: Outcome[] = [];
  const changed: Outcome[] = [];
  for (const target of targets) {
    const outcome: Outcome = { target, ok: false, detail: "" };
    outcomes.push(outcome);
    try {
      if (!user) throw new PshError("not-found", userError ?? "no install user");
      const unitCtx: UnitContext = {
        repoRoot: ctx.repoRoot,
        host: ctx.host,
        user,
        profile: ctx.profile,
        env: io.env,
      };
      let text: string;
      if (target.kind === "module") {
        text = renderModuleUnit(await loadModuleManifest(ctx.repoRoot, target.name), unitCtx);
      } else {
        const docker = await whichExecutable("docker", io.env);
        if (!docker) throw new PshError("not-found", "docker not found on PATH");
        text = renderServiceUnit(
          await loadServiceManifest(ctx.repoRoot, target.name),
          unitCtx,
          docker,
        );
      }
      const path = unitPath(ctx, target);
      const current = await ctx.system.readUnit(path);
      const state = current === null ? "created" : current === text ? "unchanged" : "updated";
      if (ctx.request.dryRun) {
        io.stdout.write(
          `\n# ${path} (${state === "unchanged" ? "unchanged" : `would be ${state}`})\n${text}`,
        );
      } else if (state !== "unchanged") {
        await ctx.system.writeUnit(path, text);
      }
      outcome.ok = true;
      outcome.detail = ctx.request.dryRun && state !== "unchanged" ? `would be ${state}` : state;
      if (state !== "unchanged") changed.push(outcome);
    } catch (e) {
      outcome.detail = errorMessage(e);
    }
  }
  if (changed.length > 0) {
    if (ctx.request.dryRun) io.stdout.write("\n");
    const argv = [ctx.system.systemctl, "daemon-reload"];
    const r = await command(ctx, argv);
    if (r.code !== 0) {
      for (const o of changed) {
        o.ok = false;
        o.detail = `${o.detail}, but ${failure(argv, r)}`;
      }
    }
  }
  return outcomes;
}

async function teardown(ctx: RunContext, targets: readonly SysTarget[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const removed: Outcome[] = [];
  const sc = ctx.system.systemctl;
  for (const target of targets) {
    const outcome: Outcome = { target, ok: false, detail: "" };
    outcomes.push(outcome);
    try {
      const path = unitPath(ctx, target);
      if ((await ctx.system.readUnit(path)) === null) {
        outcome.ok = true;
        outcome.detail = "not installed";
        continue;
      }
      // Stop and disable first, so no process and no .wants/ link outlives the unit file.
      for (const argv of [
        [sc, "stop", target.unit],
        [sc, "disable", target.unit],
      ]) {
        const r = await command(ctx, argv);
        if (r.code !== 0) throw new PshError("command-failed", failure(argv, r));
      }
      if (ctx.request.dryRun)
        ctx.io.stdout.write(`$ ${shellJoin(ctx.system.privileged(["rm", "-f", "--", path]))}\n`);
      else await ctx.system.removeUnit(path);
      outcome.ok = true;
      outcome.detail = ctx.request.dryRun ? "would be removed" : "removed";
      removed.push(outcome);
    } catch (e) {
      outcome.detail = errorMessage(e);
    }
  }
  if (removed.length > 0) {
    const argv = [sc, "daemon-reload"];
    const r = await command(ctx, argv);
    if (r.code !== 0) {
      for (const o of removed) {
        o.ok = false;
        o.detail = `${o.detail}, but ${failure(argv, r)}`;
      }
    } else {
      // Forget a failed state of the removed units (harmless when there is none).
      for (const o of removed) {
        if (!ctx.request.dryRun)
          await ctx.system.runPrivileged([sc, "reset-failed", o.target.unit]);
      }
    }
  }
  return outcomes;
}

async function control(
  ctx: RunContext,
  targets: readonly SysTarget[],
  action: "enable" | "disable" | "up" | "down",
): Promise<Outcome[]> {
  const verb = systemctlVerb[action];
  const outcomes: Outcome[] = [];
  for (const target of targets) {
    const outcome: Outcome = { target, ok: false, detail: "" };
    outcomes.push(outcome);
    try {
      const present = (await ctx.system.readUnit(unitPath(ctx, target))) !== null;
      if (!present) {
        if (action === "disable" || action === "down") {
          outcome.ok = true;
          outcome.detail = "not installed";
          continue;
        }
        const flag = target.kind === "service" ? "--service " : "";
        throw new PshError(
          "not-found",
          `${unitPath(ctx, target)} does not exist; run \`psh sys setup ${flag}${target.name}\` first`,
        );
      }
      const argv = [ctx.system.systemctl, verb, target.unit];
      const r = await command(ctx, argv);
      if (r.code !== 0) throw new PshError("command-failed", failure(argv, r));
      outcome.ok = true;
      outcome.detail = ctx.request.dryRun ? `would ${verb}` : pastTense(verb);
    } catch (e) {
      outcome.detail = errorMessage(e);
    }
  }
  return outcomes;
}

function pastTense(verb: string): string {
  switch (verb) {
    case "stop":
      return "stopped";
    case "start":
      return "started";
    default:
      return `${verb}d`;
  }
}

async function debug(ctx: RunContext, targets: readonly SysTarget[]): Promise<Outcome[]> {
  const { stdout } = ctx.io;
  const outcomes: Outcome[] = [];
  // Reading the whole journal needs root (or the systemd-journal group): use sudo when it can
  // be had (a password at most once, on a terminal), else show what this user may read.
  let privileged = ctx.system.isRoot;
  if (!privileged && !ctx.request.dryRun) {
    const needs = privilegeNeeds.debug;
    privileged = await ctx.system.hasPrivilege(needs.tools, needs.purpose);
    if (!privileged) {
      stdout.write(
        `(not root, and sudo cannot be used here: showing what ${ctx.io.currentUser} may read; a system unit's journal needs root or the systemd-journal group)\n`,
      );
    }
  }
  for (const target of targets) {
    const outcome: Outcome = { target, ok: true, detail: "" };
    outcomes.push(outcome);
    const path = unitPath(ctx, target);
    const rule = "=".repeat(Math.max(8, 72 - target.unit.length - 4));
    stdout.write(`\n=== ${target.unit} (${target.kind} ${target.name}) ${rule}\n`);
    stdout.write(
      `unit file: ${path}${(await ctx.system.readUnit(path)) === null ? " (not installed)" : ""}\n`,
    );
    const commands = [
      [ctx.system.systemctl, "status", target.unit, "--no-pager"],
      [ctx.system.journalctl, "-u", target.unit, "-n", "50", "--no-pager"],
    ];
    for (const argv of commands) {
      const run = privileged ? ctx.system.privileged(argv) : argv;
      stdout.write(`\n$ ${shellJoin(run)}\n`);
      if (ctx.request.dryRun) continue;
      const r = await ctx.system.run(run);
      stdout.write(r.stdout);
      if (r.stderr) stdout.write(r.stderr);
      // systemctl status: 0 active, 1-3 inactive/failed/dead (all worth showing), 4 no such unit.
      if (argv[1] === "status" && r.code === 4) {
        outcome.ok = false;
        outcome.detail = "no such unit (not set up?)";
      } else if (r.code === 126 || r.code === 127) {
        outcome.ok = false;
        outcome.detail = r.stderr.trim();
      }
    }
    if (outcome.ok) outcome.detail = "shown";
  }
  stdout.write("\n");
  return outcomes;
}

function errorMessage(e: unknown): string {
  if (e instanceof PshError) return e.message;
  if (e instanceof Error && e.name === "UnitError") return `cannot generate the unit: ${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}

function summarize(ctx: RunContext, outcomes: readonly Outcome[]): number {
  const failed = outcomes.filter((o) => !o.ok);
  const ok = outcomes.filter((o) => o.ok);
  const stream = failed.length > 0 ? ctx.io.stderr : ctx.io.stdout;
  const lines = [
    `psh sys ${ctx.request.action}${ctx.request.dryRun ? " --dry-run" : ""}: ${ok.length} succeeded, ${failed.length} failed`,
  ];
  for (const o of outcomes) {
    lines.push(`  ${o.ok ? "ok    " : "FAILED"}  ${o.target.unit}: ${o.detail}`);
  }
  stream.write(`${lines.join("\n")}\n`);
  return failed.length > 0 ? 1 : 0;
}
