/**
 * Pure planning of `daemon install` / `daemon uninstall`: the seed guide's installation steps for
 * one variant, as data. `apply.ts` checks each step against the machine and performs it.
 */
import { join } from "node:path";
import { shellJoin, systemRuntimeDir } from "@procmgr/platform";
import type { DaemonVariant } from "../daemon.js";

export const SERVICE_NAME = "dd-procmgrd";
export const SERVICE_USER = "dd-procmgrd";
export const UNIT_FILE = "dd-procmgrd.service";

/** One installation step. `service: true` marks steps whose change needs a daemon restart. */
export type Step =
  | { kind: "user"; name: string; home: string; shell: string }
  | { kind: "deluser"; name: string }
  | { kind: "dir"; path: string; mode?: number; owner?: string; group?: string }
  | {
      kind: "install";
      source: string;
      path: string;
      mode: number;
      owner?: string;
      group?: string;
      service: boolean;
    }
  | { kind: "symlink"; path: string; target: string }
  | {
      kind: "file";
      path: string;
      content: string;
      mode: number;
      owner?: string;
      group?: string;
      /** Only written when absent (configuration); metadata is still enforced. */
      ifMissing: boolean;
      service: boolean;
      /** A unit file: its change needs `systemctl daemon-reload`. */
      unit: boolean;
    }
  | { kind: "setcap"; path: string; caps: string }
  | {
      kind: "systemctl";
      action: "daemon-reload" | "enable" | "start" | "stop" | "disable";
      user: boolean;
      unit: string;
    }
  | { kind: "remove"; path: string; recursive: boolean };

export interface InstallOptions {
  variant: DaemonVariant;
  /** The standalone daemon executable to install. */
  daemonBinary: string;
  /**
   * The standalone CLI executable to install; the same path as `daemonBinary` when one
   * multi-call executable is both (then linked, not copied twice, but where file capabilities
   * are set: see `cliStep`).
   */
  cliBinary: string;
  /** Where the executables go (default /usr/bin, user variant ~/.local/bin). */
  binDir?: string;
  /** The unit text (rendered by the caller with `renderUnit(daemonUnit(variant))`). */
  unitText: string;
  /** The default processes.yaml, written only when none exists. */
  configText: string;
  home: string;
  /** $XDG_CONFIG_HOME / $XDG_DATA_HOME of the user (user variant). */
  xdgConfigHome?: string;
  xdgDataHome?: string;
  enable: boolean;
  start: boolean;
  /** The service user's login shell (capability variant). */
  nologinShell?: string;
}

/**
 * The seed guide's file capabilities. Exec of a binary with file capabilities clears the unit's
 * ambient set, so the daemon then holds only these two: it signals and owns files of other
 * users' processes by switching to them (see @procmgr/core), not through CAP_KILL/CAP_CHOWN.
 */
export const seedFileCaps = "cap_setuid,cap_setgid+ep";

export interface UninstallOptions {
  variant: DaemonVariant;
  binDir?: string;
  home: string;
  xdgConfigHome?: string;
  xdgDataHome?: string;
  /** Also remove configuration, state, logs (and the service user). */
  purge: boolean;
}

export function isUserVariant(variant: DaemonVariant): boolean {
  return variant === "user";
}

/** Paths the variant installs to. */
export interface VariantPaths {
  binDir: string;
  unitPath: string;
  configDir: string;
  configPath: string;
  stateDir: string;
  logDir?: string;
  runtimeDir?: string;
  unitDir: string;
}

export function variantPaths(
  variant: DaemonVariant,
  options: { binDir?: string; home: string; xdgConfigHome?: string; xdgDataHome?: string },
): VariantPaths {
  if (isUserVariant(variant)) {
    const config = options.xdgConfigHome || join(options.home, ".config");
    const data = options.xdgDataHome || join(options.home, ".local", "share");
    const unitDir = join(config, "systemd", "user");
    return {
      binDir: options.binDir ?? join(options.home, ".local", "bin"),
      unitDir,
      unitPath: join(unitDir, UNIT_FILE),
      configDir: join(config, "dd-procmgrd"),
      configPath: join(config, "dd-procmgrd", "processes.yaml"),
      stateDir: join(data, "dd-procmgrd"),
    };
  }
  return {
    binDir: options.binDir ?? "/usr/bin",
    unitDir: "/etc/systemd/system",
    unitPath: join("/etc/systemd/system", UNIT_FILE),
    configDir: "/etc/dd-procmgrd",
    configPath: "/etc/dd-procmgrd/processes.yaml",
    stateDir: "/var/lib/dd-procmgrd",
    logDir: "/var/log/dd-procmgrd",
    runtimeDir: systemRuntimeDir,
  };
}

type SystemctlStep = Extract<Step, { kind: "systemctl" }>;

function systemctlStep(variant: DaemonVariant, action: SystemctlStep["action"]): Step {
  return { kind: "systemctl", action, user: isUserVariant(variant), unit: SERVICE_NAME };
}

/** The seed guide's installation steps for a variant, in its order. */
export function planInstall(options: InstallOptions): Step[] {
  const { variant } = options;
  const paths = variantPaths(variant, options);
  const steps = isUserVariant(variant)
    ? planUserInstall(options, paths)
    : planSystemInstall(options, paths);
  steps.push(systemctlStep(variant, "daemon-reload"));
  if (options.enable) steps.push(systemctlStep(variant, "enable"));
  if (options.start) steps.push(systemctlStep(variant, "start"));
  return steps;
}

/** seed "User Service": ~/.local/bin/{dd-procmgrd,pm-cli}, XDG dirs, user unit. */
function planUserInstall(options: InstallOptions, paths: VariantPaths): Step[] {
  return [
    { kind: "dir", path: paths.binDir },
    {
      kind: "install",
      source: options.daemonBinary,
      path: join(paths.binDir, "dd-procmgrd"),
      mode: 0o755,
      service: true,
    },
    cliStep(options, join(paths.binDir, "pm-cli"), {}),
    { kind: "dir", path: paths.configDir },
    { kind: "dir", path: paths.stateDir },
    { kind: "dir", path: join(paths.stateDir, "logs") },
    {
      kind: "file",
      path: paths.configPath,
      content: options.configText,
      mode: 0o644,
      ifMissing: true,
      service: false,
      unit: false,
    },
    { kind: "dir", path: paths.unitDir },
    {
      kind: "file",
      path: paths.unitPath,
      content: options.unitText,
      mode: 0o644,
      ifMissing: false,
      service: true,
      unit: true,
    },
  ];
}

/**
 * The CLI at `path`: a link to the daemon's executable when one multi-call executable is both
 * (it runs as the name it is called by), else a copy of its own. The capability variant always
 * copies: file capabilities belong to the file, and a link would hand CAP_SETUID to every user
 * who runs the CLI.
 */
function cliStep(
  options: InstallOptions,
  path: string,
  owner: { owner?: string; group?: string },
): Step {
  if (options.cliBinary === options.daemonBinary && options.variant !== "capability") {
    return { kind: "symlink", path, target: "dd-procmgrd" };
  }
  return {
    kind: "install",
    source: options.cliBinary,
    path,
    mode: 0o755,
    ...owner,
    service: false,
  };
}

/** The system variants: root-owned executables, /etc, /var/lib, /var/log, /run, the unit. */
function planSystemInstall(options: InstallOptions, paths: VariantPaths): Step[] {
  const root = { owner: "root", group: "root" };
  const cap = options.variant === "capability";
  const svc = cap ? { owner: SERVICE_USER, group: SERVICE_USER } : root;
  const daemonPath = join(paths.binDir, "dd-procmgrd");
  // 1. binaries (root-owned, 0755: "Protect binary")
  const steps: Step[] = [
    {
      kind: "install",
      source: options.daemonBinary,
      path: daemonPath,
      mode: 0o755,
      ...root,
      service: true,
    },
    cliStep(options, join(paths.binDir, "dd-procmgr-cli"), root),
    { kind: "symlink", path: join(paths.binDir, "pm-cli"), target: "dd-procmgr-cli" },
  ];
  // 2. service user (capability)
  if (cap) {
    steps.push({
      kind: "user",
      name: SERVICE_USER,
      home: paths.stateDir,
      shell: options.nologinShell ?? "/usr/sbin/nologin",
    });
  }
  // 3./4. directories with their permissions
  steps.push(
    {
      kind: "dir",
      path: paths.configDir,
      mode: cap ? 0o750 : 0o700,
      owner: "root",
      group: svc.group,
    },
    { kind: "dir", path: paths.stateDir, mode: 0o755, ...svc },
    { kind: "dir", path: paths.logDir as string, mode: 0o755, ...svc },
    { kind: "dir", path: paths.runtimeDir as string, mode: 0o755, ...svc },
  );
  // 5. file capabilities (capability)
  if (cap) steps.push({ kind: "setcap", path: daemonPath, caps: seedFileCaps });
  // configuration, only if missing; the unit: every system variant is dd-procmgrd.service
  steps.push(
    {
      kind: "file",
      path: paths.configPath,
      content: options.configText,
      mode: cap ? 0o640 : 0o644,
      owner: "root",
      group: svc.group,
      ifMissing: true,
      service: false,
      unit: false,
    },
    {
      kind: "file",
      path: paths.unitPath,
      content: options.unitText,
      mode: 0o644,
      ...root,
      ifMissing: false,
      service: true,
      unit: true,
    },
  );
  return steps;
}

/** Reverses `planInstall`: stop, disable, remove the unit, daemon-reload, remove executables. */
export function planUninstall(options: UninstallOptions): Step[] {
  const { variant } = options;
  const user = isUserVariant(variant);
  const paths = variantPaths(variant, options);
  const steps: Step[] = [
    { kind: "systemctl", action: "stop", user, unit: SERVICE_NAME },
    { kind: "systemctl", action: "disable", user, unit: SERVICE_NAME },
    { kind: "remove", path: paths.unitPath, recursive: false },
    { kind: "systemctl", action: "daemon-reload", user, unit: SERVICE_NAME },
  ];
  const bins = user ? ["dd-procmgrd", "pm-cli"] : ["dd-procmgrd", "dd-procmgr-cli", "pm-cli"];
  for (const b of bins)
    steps.push({ kind: "remove", path: join(paths.binDir, b), recursive: false });
  if (options.purge) {
    for (const dir of [paths.configDir, paths.stateDir, paths.logDir, paths.runtimeDir]) {
      if (dir !== undefined) steps.push({ kind: "remove", path: dir, recursive: true });
    }
    if (!user) steps.push({ kind: "deluser", name: SERVICE_USER });
  }
  return steps;
}

function ownerArgs(step: { owner?: string; group?: string }): string[] {
  return [
    ...(step.owner !== undefined ? ["-o", step.owner] : []),
    ...(step.group !== undefined ? ["-g", step.group] : []),
  ];
}

export function octal(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}

/**
 * The command line that performs a step (what --dry-run prints and what runs). A file write is
 * `install -m MODE [-o U -g G] /dev/stdin PATH` fed with the content.
 */
export function stepCommand(step: Step): string[] {
  switch (step.kind) {
    case "user":
      return ["useradd", "-r", "-s", step.shell, "-d", step.home, step.name];
    case "deluser":
      return ["userdel", step.name];
    case "dir":
      return step.mode === undefined && step.owner === undefined
        ? ["mkdir", "-p", step.path]
        : [
            "install",
            "-d",
            ...(step.mode !== undefined ? ["-m", octal(step.mode)] : []),
            ...ownerArgs(step),
            step.path,
          ];
    case "install":
      return ["install", "-m", octal(step.mode), ...ownerArgs(step), step.source, step.path];
    case "symlink":
      return ["ln", "-sfn", step.target, step.path];
    case "file":
      return ["install", "-m", octal(step.mode), ...ownerArgs(step), "/dev/stdin", step.path];
    case "setcap":
      return ["setcap", step.caps, step.path];
    case "systemctl":
      return [
        "systemctl",
        ...(step.user ? ["--user"] : []),
        step.action,
        ...(step.action === "daemon-reload" ? [] : [step.unit]),
      ];
    case "remove":
      return ["rm", step.recursive ? "-rf" : "-f", step.path];
  }
}

/** A step for humans: its command line, with a note for conditional steps. */
export function describeStep(step: Step): string {
  const cmd = shellJoin(stepCommand(step));
  switch (step.kind) {
    case "file":
      return `${cmd}${step.ifMissing ? "   # only if missing" : ""}`;
    case "user":
      return `${cmd}   # if absent`;
    case "setcap":
      return `${cmd}   # if setcap exists (AmbientCapabilities= in the unit works without)`;
    default:
      return cmd;
  }
}
