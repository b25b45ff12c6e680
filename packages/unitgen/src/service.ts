import { showValue, UnitError } from "./errors.js";
import {
  checkAbsolutePath,
  type ExecWord,
  encodeText,
  quoteEnvironment,
  quoteExecArgv,
  textOf,
  type UnitText,
} from "./escape.js";
import { renderUnit, type UnitFile, type UnitSection, type UnitValue } from "./render.js";

export type ServiceType = "simple" | "exec" | "notify" | "oneshot" | "forking";
export type ServiceRestart =
  | "no"
  | "on-success"
  | "on-failure"
  | "on-abnormal"
  | "on-watchdog"
  | "on-abort"
  | "always";
export type ServiceKillMode = "control-group" | "process" | "mixed" | "none";

/** A command line: the absolute executable then its arguments, all literal (or SpecifierText). */
export type ExecArgv = readonly ExecWord[];

export interface ServiceUnitSpec {
  description: UnitText;
  documentation?: string[];
  after?: string[];
  before?: string[];
  wants?: string[];
  requires?: string[];
  bindsTo?: string[];
  startLimitIntervalSec?: number;
  startLimitBurst?: number;
  /** Other [Unit] directives, values already encoded (see `renderUnit`). */
  unitExtra?: [string, UnitValue][];
  service: {
    type?: ServiceType;
    user?: string;
    group?: string;
    workingDirectory?: UnitText;
    environment?: Record<string, UnitText>;
    /** Absolute paths; a leading "-" means "ignore if missing". */
    environmentFiles?: UnitText[];
    execStart: ExecArgv | readonly ExecArgv[];
    execStartPre?: readonly ExecArgv[];
    execStop?: readonly ExecArgv[];
    execReload?: readonly ExecArgv[];
    restart?: ServiceRestart;
    restartSec?: number;
    remainAfterExit?: boolean;
    killMode?: ServiceKillMode;
    killSignal?: string;
    timeoutStopSec?: number;
    timeoutStartSec?: number;
    /** Any other [Service] directive (hardening...), values already encoded. */
    extra?: [string, UnitValue][];
  };
  install?: { wantedBy?: string[] };
}

const NAME_LIST_ITEM = /^[^\s%]+$/;
const USER = /^([A-Za-z_][A-Za-z0-9_.@-]*\$?|[0-9]+)$/;
const SIGNAL = /^(SIG)?[A-Z0-9+-]+$/;

function nameList(key: string, names: readonly string[] | undefined): [string, UnitValue][] {
  if (names === undefined || names.length === 0) return [];
  for (const n of names) {
    if (!NAME_LIST_ITEM.test(n)) {
      throw new UnitError(
        "invalid-value",
        `${key}=: expected a unit name or URL without whitespace or "%", received ${showValue(n)}`,
      );
    }
  }
  return [[key, names.join(" ")]];
}

function seconds(key: string, v: number | undefined): [string, UnitValue][] {
  if (v === undefined) return [];
  if (!Number.isFinite(v) || v < 0) {
    throw new UnitError(
      "invalid-value",
      `${key}=: expected a non-negative number of seconds, received ${v}`,
    );
  }
  return [[key, v]];
}

function isArgvList(x: ExecArgv | readonly ExecArgv[]): x is readonly ExecArgv[] {
  return x.length > 0 && Array.isArray(x[0]);
}

// systemd-analyze verify warns "Special user nobody configured, this is not safe!" for these.
const NOBODY = new Set(["nobody", "nfsnobody", "nogroup", "65534"]);

function account(key: string, v: string | undefined): [string, UnitValue][] {
  if (v === undefined) return [];
  if (!USER.test(v)) {
    throw new UnitError(
      "invalid-value",
      `${key}=: expected a user/group name or numeric id, received ${showValue(v)}`,
    );
  }
  if (NOBODY.has(v)) {
    throw new UnitError(
      "invalid-value",
      `${key}=: systemd refuses to treat ${showValue(v)} as safe (files owned by it belong to nobody); use a dedicated account or DynamicUser=yes`,
    );
  }
  return [[key, v]];
}

function envFile(t: UnitText): string {
  const text = textOf(t);
  const optional = text.startsWith("-");
  const path: UnitText =
    typeof t === "string"
      ? text.slice(optional ? 1 : 0)
      : { kind: "specifier-text", text: text.slice(optional ? 1 : 0) };
  checkAbsolutePath(path, "EnvironmentFile=");
  return `${optional ? "-" : ""}${encodeText(path, "EnvironmentFile=")}`;
}

/** Builds the typed model of a service unit from a spec; every literal is escaped here. */
export function serviceUnit(spec: ServiceUnitSpec): UnitFile {
  const s = spec.service;
  const unit: [string, UnitValue][] = [
    ["Description", encodeText(spec.description, "Description=")],
    ...nameList("Documentation", spec.documentation),
    ...nameList("Wants", spec.wants),
    ...nameList("Requires", spec.requires),
    ...nameList("BindsTo", spec.bindsTo),
    ...nameList("After", spec.after),
    ...nameList("Before", spec.before),
    ...seconds("StartLimitIntervalSec", spec.startLimitIntervalSec),
  ];
  if (spec.startLimitBurst !== undefined) {
    if (!Number.isInteger(spec.startLimitBurst) || spec.startLimitBurst < 0) {
      throw new UnitError(
        "invalid-value",
        `StartLimitBurst=: expected a non-negative integer, received ${spec.startLimitBurst}`,
      );
    }
    unit.push(["StartLimitBurst", spec.startLimitBurst]);
  }
  unit.push(...(spec.unitExtra ?? []));

  const starts: readonly ExecArgv[] = isArgvList(s.execStart)
    ? s.execStart
    : [s.execStart as ExecArgv];
  if (starts.length === 0) {
    throw new UnitError("invalid-command", "ExecStart=: expected a command line, received none");
  }
  if (starts.length > 1 && s.type !== "oneshot") {
    throw new UnitError(
      "invalid-command",
      `ExecStart=: several command lines are only allowed with Type=oneshot, received Type=${s.type ?? "simple"}`,
    );
  }
  const service: [string, UnitValue][] = [];
  if (s.type !== undefined) service.push(["Type", s.type]);
  if (s.remainAfterExit !== undefined) service.push(["RemainAfterExit", s.remainAfterExit]);
  service.push(...account("User", s.user), ...account("Group", s.group));
  if (s.workingDirectory !== undefined) {
    const wd = textOf(s.workingDirectory);
    if (wd !== "~") checkAbsolutePath(s.workingDirectory, "WorkingDirectory=");
    service.push(["WorkingDirectory", encodeText(s.workingDirectory, "WorkingDirectory=")]);
  }
  for (const f of s.environmentFiles ?? []) service.push(["EnvironmentFile", envFile(f)]);
  for (const [k, v] of Object.entries(s.environment ?? {}))
    service.push(["Environment", quoteEnvironment(k, v)]);
  for (const c of s.execStartPre ?? []) service.push(["ExecStartPre", quoteExecArgv(c)]);
  for (const c of starts) service.push(["ExecStart", quoteExecArgv(c)]);
  for (const c of s.execReload ?? []) service.push(["ExecReload", quoteExecArgv(c)]);
  for (const c of s.execStop ?? []) service.push(["ExecStop", quoteExecArgv(c)]);
  if (s.restart !== undefined) service.push(["Restart", s.restart]);
  service.push(
    ...seconds("RestartSec", s.restartSec),
    ...seconds("TimeoutStartSec", s.timeoutStartSec),
  );
  if (s.killMode !== undefined) service.push(["KillMode", s.killMode]);
  if (s.killSignal !== undefined) {
    if (!SIGNAL.test(s.killSignal)) {
      throw new UnitError(
        "invalid-value",
        `KillSignal=: expected a signal name like SIGTERM, received ${showValue(s.killSignal)}`,
      );
    }
    service.push(["KillSignal", s.killSignal]);
  }
  service.push(...seconds("TimeoutStopSec", s.timeoutStopSec), ...(s.extra ?? []));

  const sections: UnitSection[] = [
    { name: "Unit", entries: unit },
    { name: "Service", entries: service },
  ];
  const wantedBy = nameList("WantedBy", spec.install?.wantedBy);
  if (wantedBy.length > 0) sections.push({ name: "Install", entries: wantedBy });
  const result: UnitFile = { sections };
  renderUnit(result); // validate every value now, so the error points at the spec
  return result;
}
