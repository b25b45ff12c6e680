/**
 * The Psyched repository layout that `psh` works in: the repo root, `modules/<name>/module.toml`
 * and `services/<name>/service.toml`.
 */
import { access, readdir, readFile, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import * as v from "valibot";
import { PshError, type PshErrorCode, type PshIssue } from "./errors.js";

export interface PsychedRepo {
  readonly root: string;
  /** Directory names under `modules/` (sorted). */
  readonly modules: readonly string[];
  /** Directory names under `services/` (sorted). */
  readonly services: readonly string[];
}

export interface ModuleManifest {
  readonly name: string;
  readonly dir: string;
  readonly file: string | null;
  /** Absolute path of the launch script. */
  readonly launch: string;
  /** Absolute path of the shutdown script, when declared. */
  readonly shutdown?: string;
}

export interface ServiceManifest {
  readonly name: string;
  readonly dir: string;
  readonly file: string | null;
  /** Absolute path of the compose file. */
  readonly compose: string;
  /** Compose project name (default `psyched-<name>`). */
  readonly project: string;
  readonly env: Readonly<Record<string, string>>;
}

/**
 * The repo root: `$PSYCHED_REPO_ROOT`, else the nearest directory at or above `cwd` that has a
 * `modules/` directory. Throws PshError "not-found" when there is none.
 */
export async function findPsychedRepoRoot(env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  const fromEnv = env.PSYCHED_REPO_ROOT?.trim();
  if (fromEnv) {
    const root = resolve(cwd, fromEnv);
    if (!(await isDirectory(root))) {
      throw problem("not-found", `PSYCHED_REPO_ROOT=${fromEnv} is not a directory`, {
        path: "PSYCHED_REPO_ROOT",
        message: "not a directory",
        received: fromEnv,
      });
    }
    return root;
  }
  let dir = resolve(cwd);
  for (;;) {
    if (await isDirectory(join(dir, "modules"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw problem(
    "not-found",
    `no Psyched repo found at or above ${cwd} (no modules/ directory); set PSYCHED_REPO_ROOT`,
    { path: "PSYCHED_REPO_ROOT", message: "not set and no modules/ directory found" },
  );
}

/** List the modules and services present in the repo (directories, sorted). */
export async function discoverPsychedRepo(root: string): Promise<PsychedRepo> {
  return {
    root,
    modules: await listDirs(join(root, "modules")),
    services: await listDirs(join(root, "services")),
  };
}

const ScriptSchema = v.string();
const ModuleTomlSchema = v.looseObject({
  unit: v.optional(
    v.record(
      v.string(),
      v.looseObject({ launch: v.optional(ScriptSchema), shutdown: v.optional(ScriptSchema) }),
    ),
  ),
});
const ServiceTomlSchema = v.looseObject({
  service: v.optional(
    v.record(
      v.string(),
      v.looseObject({
        compose: v.optional(v.string()),
        project: v.optional(v.string()),
        env: v.optional(v.record(v.string(), v.union([v.string(), v.number(), v.boolean()]))),
      }),
    ),
  ),
});

/**
 * Read `modules/<name>/module.toml`. The launch script comes from `[unit.<name>] launch` (or the
 * only `[unit.*]` table), else `launch_unit.sh` in the module dir. Script paths are tried as
 * given, then relative to the module dir, then to the repo root.
 */
export async function loadModuleManifest(root: string, name: string): Promise<ModuleManifest> {
  const dir = join(root, "modules", name);
  if (!(await isDirectory(dir))) {
    throw problem("not-found", `module ${name}: ${dir} does not exist`, {
      path: `modules.${name}`,
      message: `${dir} does not exist`,
    });
  }
  const file = join(dir, "module.toml");
  const doc = await readToml(file, ModuleTomlSchema);
  const units = doc?.unit ?? {};
  const keys = Object.keys(units);
  const unitKey = units[name] ? name : keys.length === 1 ? keys[0] : undefined;
  const unit = unitKey === undefined ? undefined : units[unitKey];
  const keyPath = `unit.${unitKey ?? name}`;

  let launch: string;
  if (unit?.launch !== undefined) {
    launch = await resolveScript(unit.launch, dir, root, file, `${keyPath}.launch`);
  } else if (await exists(join(dir, "launch_unit.sh"))) {
    launch = join(dir, "launch_unit.sh");
  } else {
    throw problem(
      "invalid",
      `module ${name}: no launch script (${file}: [${keyPath}] launch, or ${join(dir, "launch_unit.sh")})`,
      { file, path: `${keyPath}.launch`, message: "no launch script declared or found" },
    );
  }
  let shutdown: string | undefined;
  if (unit?.shutdown !== undefined) {
    shutdown = await resolveScript(unit.shutdown, dir, root, file, `${keyPath}.shutdown`);
  } else if (await exists(join(dir, "shutdown_unit.sh"))) {
    shutdown = join(dir, "shutdown_unit.sh");
  }
  return {
    name,
    dir,
    file: doc === null ? null : file,
    launch,
    ...(shutdown !== undefined ? { shutdown } : {}),
  };
}

/**
 * Read `services/<name>/service.toml`: `[service.<name>] compose` (default the first of
 * docker-compose.yml, docker-compose.yaml, compose.yml, compose.yaml that exists), `project`
 * (default `psyched-<name>`) and `env`.
 */
export async function loadServiceManifest(root: string, name: string): Promise<ServiceManifest> {
  const dir = join(root, "services", name);
  if (!(await isDirectory(dir))) {
    throw problem("not-found", `service ${name}: ${dir} does not exist`, {
      path: `services.${name}`,
      message: `${dir} does not exist`,
    });
  }
  const file = join(dir, "service.toml");
  const doc = await readToml(file, ServiceTomlSchema);
  const tables = doc?.service ?? {};
  const keys = Object.keys(tables);
  const key = tables[name] ? name : keys.length === 1 ? keys[0] : undefined;
  const table = key === undefined ? undefined : tables[key];

  let compose: string | undefined;
  if (table?.compose !== undefined) {
    compose = isAbsolute(table.compose) ? table.compose : join(dir, table.compose);
    if (!(await exists(compose))) {
      throw problem("not-found", `service ${name}: compose file ${compose} not found`, {
        file,
        path: `service.${key}.compose`,
        message: `${compose} not found`,
      });
    }
  } else {
    for (const candidate of [
      "docker-compose.yml",
      "docker-compose.yaml",
      "compose.yml",
      "compose.yaml",
    ]) {
      if (await exists(join(dir, candidate))) {
        compose = join(dir, candidate);
        break;
      }
    }
  }
  if (compose === undefined) {
    throw problem("invalid", `service ${name}: no compose file in ${dir}`, {
      file,
      path: `service.${name}.compose`,
      message: "no compose file declared or found",
    });
  }
  const env: Record<string, string> = {};
  for (const [k, val] of Object.entries(table?.env ?? {})) env[k] = String(val);
  return {
    name,
    dir,
    file: doc === null ? null : file,
    compose,
    project: table?.project ?? `psyched-${name}`,
    env,
  };
}

async function resolveScript(
  script: string,
  moduleDir: string,
  root: string,
  file: string,
  path: string,
): Promise<string> {
  const candidates = isAbsolute(script)
    ? [script]
    : [resolve(script), join(moduleDir, script), join(root, script)];
  for (const candidate of candidates) {
    if (await isFile(candidate)) return candidate;
  }
  throw problem("not-found", `${file}: ${path}: script "${script}" not found`, {
    file,
    path,
    message: `script not found (tried ${candidates.join(", ")})`,
    received: script,
  });
}

async function readToml<S extends v.GenericSchema>(
  file: string,
  schema: S,
): Promise<v.InferOutput<S> | null> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw problem(
      "io",
      `${file}: cannot read`,
      { file, path: "", message: (e as Error).message },
      e,
    );
  }
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (e) {
    const pos = e instanceof TomlError ? { line: e.line, column: e.column } : {};
    const message = `cannot parse toml: ${(e as Error).message.split("\n")[0]}`;
    throw problem("parse", `${file}: ${message}`, { file, path: "", message, ...pos }, e);
  }
  const result = v.safeParse(schema, raw);
  if (!result.success) {
    const issues = result.issues.map((issue) => {
      const path = (issue.path ?? []).map((p) => String(p.key)).join(".");
      return { file, path, message: `${path}: ${issue.message}` };
    });
    throw new PshError("invalid", issues.map((i) => `${file}: ${i.message}`).join("\n"), {
      issues,
    });
  }
  return result.output;
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory() && !e.name.startsWith("."))
      .map((e) => e.name)
      .sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    const file = (e as NodeJS.ErrnoException).path ?? dir;
    throw problem("io", (e as Error).message, { file, path: "", message: (e as Error).message }, e);
  }
}

function problem(code: PshErrorCode, message: string, issue: PshIssue, cause?: unknown): PshError {
  return new PshError(code, message, {
    issues: [issue],
    ...(cause === undefined ? {} : { cause }),
  });
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
