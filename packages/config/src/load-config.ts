import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { checkCycles, checkDependencyNames, type Defined } from "./config-checks.js";
import { didYouMean } from "./did-you-mean.js";
import { ConfigError, type ConfigIssue } from "./errors.js";
import { type DependencyRefs, validateProcess } from "./resolve-process.js";
import type { ProcessConfig } from "./types.js";
import {
  findDuplicateKeys,
  issueAt,
  locate,
  parseYaml,
  type SourceContext,
  type YamlNode,
} from "./yaml-source.js";

export interface LoadedConfig {
  /** The absolute path of processes.yaml. */
  path: string;
  processes: ProcessConfig[];
  /** Every file read: processes.yaml (when it exists) then processes.d/*.yaml in name order. */
  files: string[];
  /** processes.yaml does not exist (no processes come from it). */
  missing: boolean;
}

/** Everything gathered from the files before the whole-config checks. */
interface Collection {
  readonly defs: Defined[];
  readonly refs: DependencyRefs[];
  readonly issues: ConfigIssue[];
  /** Every process name defined (valid or not), with where it was first defined. */
  readonly names: Map<string, { file: string; line?: number }>;
  /** Files with a YAML syntax error: the names they define are unknown. */
  readonly unparsed: string[];
}

function newCollection(): Collection {
  return { defs: [], refs: [], issues: [], names: new Map(), unparsed: [] };
}

function where(file: string, line: number | undefined): string {
  return line === undefined ? file : `${file}:${line}`;
}

/** Record a name; a second definition is an issue naming both places (and is not used). */
function claimName(
  c: Collection,
  name: string,
  ctx: SourceContext & { file: string },
  root: YamlNode | undefined,
): boolean {
  const line = locate(root, ctx.nodePath, "key")?.line;
  const first = c.names.get(name);
  if (first !== undefined) {
    c.issues.push(
      issueAt(
        ctx,
        [],
        `process "${name}" is defined twice: in ${where(first.file, first.line)} and in ${where(ctx.file, line)}`,
        { code: "duplicate", where: "key" },
      ),
    );
    return false;
  }
  c.names.set(name, line === undefined ? { file: ctx.file } : { file: ctx.file, line });
  return true;
}

function duplicateKeyIssues(
  c: Collection,
  file: string,
  root: YamlNode | undefined,
  isProcessesMap: (path: readonly (string | number)[]) => boolean,
): void {
  for (const d of findDuplicateKeys(root)) {
    const parent = d.path.slice(0, -1);
    const message = isProcessesMap(parent)
      ? `process "${d.key}" is defined twice: in ${file}:${d.firstPos.line} and in ${file}:${d.pos.line}`
      : `duplicate key "${d.key}" (first at line ${d.firstPos.line})`;
    c.issues.push(
      issueAt({ file, root, nodePath: [], displayPrefix: [] }, d.path, message, {
        code: "duplicate",
        pos: d.pos,
      }),
    );
  }
}

function parseInto(
  c: Collection,
  text: string,
  file: string,
): ReturnType<typeof parseYaml> | undefined {
  try {
    return parseYaml(text, file);
  } catch (e) {
    c.issues.push(...ConfigError.from(e).issues);
    c.unparsed.push(file);
    return undefined;
  }
}

/** The single-file format: a top-level `processes:` map (keys starting with `x-` are free). */
function collectMainFile(c: Collection, text: string, file: string): void {
  const doc = parseInto(c, text, file);
  if (doc === undefined) return;
  const { value, root } = doc;
  duplicateKeyIssues(c, file, root, (p) => p.length === 1 && p[0] === "processes");
  const top: SourceContext = { file, root, nodePath: [], displayPrefix: [] };
  if (value === null || value === undefined) return;
  if (typeof value !== "object" || Array.isArray(value)) {
    c.issues.push(
      issueAt(top, [], "the file must be a mapping with a top-level processes: key", {
        expected: "processes: { <name>: { command: ... } }",
        received: Array.isArray(value) ? "a list" : JSON.stringify(value),
      }),
    );
    return;
  }
  const doc0 = value as Record<string, unknown>;
  for (const key of Object.keys(doc0)) {
    if (key === "processes" || key.startsWith("x-")) continue;
    const hint = didYouMean(key, ["processes"]);
    c.issues.push(
      issueAt(
        top,
        [key],
        `unknown top-level key "${key}"${hint ? `, did you mean "${hint}"?` : " (process definitions go under processes:)"}`,
        { where: "key", expected: "processes" },
      ),
    );
  }
  const processes = doc0.processes;
  if (processes === null || processes === undefined) return;
  if (typeof processes !== "object" || Array.isArray(processes)) {
    c.issues.push(
      issueAt(top, ["processes"], "wrong type", {
        expected: "a mapping of process name to definition",
        received: Array.isArray(processes) ? "a list" : JSON.stringify(processes),
      }),
    );
    return;
  }
  const firstDefinitions = root?.entries?.get("processes")?.value.entries;
  for (const [name, last] of Object.entries(processes as Record<string, unknown>)) {
    // A name written twice is reported above; the first definition is the one validated.
    const entry = firstDefinitions?.get(name);
    const raw =
      entry !== undefined && entry.raw !== last && entry.raw !== undefined ? entry.raw : last;
    const ctx = { file, root, nodePath: ["processes", name], displayPrefix: ["processes", name] };
    if (!claimName(c, name, ctx, root)) continue;
    const config = validateProcess(name, raw, ctx, c.issues, c.refs);
    if (config !== undefined) c.defs.push({ config, ctx });
  }
}

/** One file of processes.d/: its name (without .yaml/.yml) is the process name. */
function collectProcessFile(c: Collection, text: string, file: string, name: string): void {
  const doc = parseInto(c, text, file);
  const root = doc?.root;
  const ctx = { file, root, nodePath: [], displayPrefix: ["processes", name] };
  // The name comes from the file name: it is defined even when the content cannot be parsed.
  if (!claimName(c, name, ctx, root) || doc === undefined) return;
  const { value } = doc;
  duplicateKeyIssues(c, file, root, () => false);
  if (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    "processes" in value &&
    !("command" in value)
  ) {
    c.issues.push(
      issueAt(
        ctx,
        ["processes"],
        `a processes.d file holds ONE process definition (its name is the file name, "${name}"), not a processes: map`,
        { where: "key", expected: "command: ... at the top level" },
      ),
    );
    return;
  }
  const config = validateProcess(name, value, ctx, c.issues, c.refs);
  if (config !== undefined) c.defs.push({ config, ctx });
}

function finish(c: Collection): ProcessConfig[] {
  // After a syntax error some names are unknown: "unknown process" would only be noise.
  if (c.unparsed.length === 0) checkDependencyNames(c.refs, new Set(c.names.keys()), c.issues);
  checkCycles(c.defs, c.issues);
  if (c.issues.length > 0) {
    // In file order (as read), then by position; issues without a file come last.
    const files: string[] = [];
    for (const i of c.issues)
      if (i.file !== undefined && !files.includes(i.file)) files.push(i.file);
    const rank = (i: ConfigIssue) => (i.file === undefined ? files.length : files.indexOf(i.file));
    const sorted = [...c.issues].sort(
      (a, b) =>
        rank(a) - rank(b) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
    );
    throw ConfigError.fromIssues(sorted);
  }
  return c.defs.map((d) => d.config);
}

/** Parse the single-file format (a `processes:` map); throws ConfigError with every issue. */
export function parseConfigText(text: string, file: string): ProcessConfig[] {
  const c = newCollection();
  collectMainFile(c, text, file);
  return finish(c);
}

function ioIssue(file: string, e: unknown): ConfigIssue {
  const err = e as NodeJS.ErrnoException;
  return { file, path: "", message: `cannot read: ${err.message ?? String(e)}`, code: "io" };
}

/** The directory of one-file-per-process definitions next to processes.yaml. */
export function processesDirFor(configPath: string): string {
  return join(dirname(resolve(configPath)), "processes.d");
}

/**
 * Load processes.yaml and the sibling processes.d/ (*.yaml, *.yml; name = file name). A missing
 * processes.yaml means no processes from it (`missing: true`). Throws ConfigError with ALL issues
 * of all files.
 */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  const abs = resolve(path);
  const c = newCollection();
  const files: string[] = [];
  let missing = false;
  try {
    const text = await readFile(abs, "utf8");
    files.push(abs);
    collectMainFile(c, text, abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") missing = true;
    else c.issues.push(ioIssue(abs, e));
  }
  const dir = processesDirFor(abs);
  let names: string[] = [];
  try {
    names = (await readdir(dir)).filter((n) => !n.startsWith(".") && /\.ya?ml$/.test(n)).sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") c.issues.push(ioIssue(dir, e));
  }
  for (const entry of names) {
    const file = join(dir, entry);
    try {
      if (!(await stat(file)).isFile()) continue;
      const text = await readFile(file, "utf8");
      files.push(file);
      collectProcessFile(c, text, file, basename(entry).replace(/\.ya?ml$/, ""));
    } catch (e) {
      c.issues.push(ioIssue(file, e));
    }
  }
  const processes = finish(c);
  return { path: abs, processes, files, missing };
}
