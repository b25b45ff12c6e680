import { PshError } from "./errors.js";
import { enabledModules, enabledServices, type HostProfile } from "./host-profile.js";
import type { PsychedRepo } from "./psyched-repo.js";

export type UnitKind = "module" | "service";

export interface SysTarget {
  readonly kind: UnitKind;
  readonly name: string;
  /** `psh-module-<name>.service` or `psh-service-<name>.service`. */
  readonly unit: string;
}

const UNIT_NAME_PART = /^[A-Za-z0-9:_.-]+$/;

/** The systemd unit name of a module or service. Throws when the name cannot be part of one. */
export function unitNameFor(kind: UnitKind, name: string): string {
  if (!UNIT_NAME_PART.test(name)) {
    throw new PshError(
      "invalid",
      `${kind} name ${JSON.stringify(name)} cannot be part of a unit name (expected letters, digits, ":", "_", ".", "-")`,
    );
  }
  return `psh-${kind}-${name}.service`;
}

export function isWildcard(targets: readonly string[]): boolean {
  return targets.length === 0 || targets.every((t) => t === "*" || t === "all");
}

export interface TargetInput {
  readonly targets: readonly string[];
  /** `--module` / `--service`: restrict the wildcard, or say what a name means. */
  readonly only?: UnitKind;
  readonly repo: PsychedRepo;
  readonly profile: HostProfile | null;
  /** Names whose unit file is installed (accepted for teardown even if gone from the repo). */
  readonly installed?: {
    readonly modules: readonly string[];
    readonly services: readonly string[];
  };
}

/**
 * Resolve the command's targets.
 * - none, `*` or `all`: every enabled module (launch true) and service (up true) of the host
 *   profile, or everything in the repo without a profile; `--module`/`--service` keep one kind.
 * - a name: the module of that name, else the service; `--service` means the service and
 *   `--module` the module. An unknown name throws, listing what is known.
 */
export function resolveTargets(input: TargetInput): SysTarget[] {
  const { repo, profile, only } = input;
  const knownModules = unique([
    ...repo.modules,
    ...(profile?.modules.map((m) => m.name) ?? []),
    ...(input.installed?.modules ?? []),
  ]);
  const knownServices = unique([
    ...repo.services,
    ...(profile?.services.map((s) => s.name) ?? []),
    ...(input.installed?.services ?? []),
  ]);

  const out: SysTarget[] = [];
  const seen = new Set<string>();
  const add = (kind: UnitKind, name: string) => {
    const unit = unitNameFor(kind, name);
    if (seen.has(unit)) return;
    seen.add(unit);
    out.push({ kind, name, unit });
  };

  if (isWildcard(input.targets)) {
    const modules = profile ? enabledModules(profile) : [...repo.modules];
    const services = profile ? enabledServices(profile) : [...repo.services];
    if (only !== "service") for (const m of modules) add("module", m);
    if (only !== "module") for (const s of services) add("service", s);
    return out;
  }

  const unknown: string[] = [];
  for (const name of input.targets) {
    if (name === "*" || name === "all") {
      for (const t of resolveTargets({ ...input, targets: [] })) add(t.kind, t.name);
      continue;
    }
    const isModule = knownModules.includes(name);
    const isService = knownServices.includes(name);
    if (only === "service") {
      if (isService) add("service", name);
      else unknown.push(name);
    } else if (only === "module") {
      if (isModule) add("module", name);
      else unknown.push(name);
    } else if (isModule) add("module", name);
    else if (isService) add("service", name);
    else unknown.push(name);
  }
  if (unknown.length > 0) {
    const kindWord =
      only === "service" ? "service" : only === "module" ? "module" : "module or service";
    const list = (names: readonly string[]) => (names.length > 0 ? names.join(", ") : "(none)");
    throw new PshError(
      "usage",
      `unknown ${kindWord}${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")}\n` +
        `  known modules:  ${list(knownModules)}\n` +
        `  known services: ${list(knownServices)}`,
    );
  }
  return out;
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names)].sort();
}
