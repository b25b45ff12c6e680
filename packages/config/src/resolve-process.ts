import { isDeepStrictEqual } from "node:util";
import * as v from "valibot";
import { didYouMean } from "./did-you-mean.js";
import { ConfigError, type ConfigIssue } from "./errors.js";
import { type FieldRow, rowsToYaml } from "./field-row.js";
import {
  type HealthCheckOutput,
  healthCheckFieldTable,
  resourceLimitFieldTable,
} from "./nested-fields.js";
import {
  completeProcess,
  dependencyFields,
  derivedMaxDelay,
  nulByteMessage,
  nulBytes,
} from "./process-checks.js";
import {
  healthCheckFields,
  type ProcessFieldName,
  processFields,
  processFieldTable,
  resourceLimitFields,
} from "./process-fields.js";
import { commandArgv, describeValue, nameProblem } from "./process-schema.js";
import type { HealthCheck, ProcessConfig, ResourceLimits } from "./types.js";
import { issueAt, type SourceContext, type YamlPath } from "./yaml-source.js";

const origins = new WeakMap<ProcessConfig, SourceContext>();

/** Where a resolved config was defined (when it came from a file). */
export function configOrigin(config: ProcessConfig): SourceContext | undefined {
  return origins.get(config);
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

type Entries = Record<string, v.GenericSchema>;

/** The schemas of rows, by YAML name. */
function entriesOfRows(rows: readonly FieldRow[]): Entries {
  return Object.fromEntries(rows.map((row) => [row.yaml, row.schema]));
}

/** A default as a value of its own (a fresh list or map per config). */
function fresh(value: unknown): unknown {
  if (Array.isArray(value)) return [...value];
  if (value !== null && typeof value === "object") return { ...value };
  return value;
}

/**
 * Each row's parsed value (by YAML name, or by `keyOf`), else its default (a field without
 * either is left out): the part of resolving that is the same for every field.
 */
function fillRows(
  rows: readonly FieldRow[],
  parsed: Record<string, unknown>,
  into: object,
  keyOf: (row: FieldRow) => string = (row) => row.yaml,
): void {
  const target = into as Record<string, unknown>;
  for (const row of rows) {
    const value = parsed[keyOf(row)] ?? fresh(row.default);
    if (value !== undefined && value !== null) target[row.key] = value;
  }
}

/** Validate each field on its own (so every bad field is reported), and flag unknown keys. */
function parseFields(
  entries: Entries,
  fields: readonly string[],
  raw: Record<string, unknown>,
  ctx: SourceContext,
  sub: YamlPath,
  issues: ConfigIssue[],
  required: readonly string[],
): { out: Record<string, unknown>; failed: Set<string> } {
  const out: Record<string, unknown> = {};
  const failed = new Set<string>();
  for (const key of Object.keys(raw)) {
    const schema = entries[key];
    if (schema === undefined && fields.includes(key)) continue; // validated by the caller
    if (schema === undefined) {
      const hint = didYouMean(key, fields);
      issues.push(
        issueAt(
          ctx,
          [...sub, key],
          `unknown field "${key}"${hint ? `, did you mean "${hint}"?` : ""}`,
          {
            where: "key",
          },
        ),
      );
      failed.add(key);
      continue;
    }
    const value = raw[key];
    if (value === undefined) continue;
    const result = v.safeParse(schema, value, { abortEarly: false });
    const nul = result.success ? nulBytes(value, [...sub, key]) : [];
    if (result.success && nul.length === 0) {
      if (result.output !== null && result.output !== undefined) out[key] = result.output;
      continue;
    }
    failed.add(key);
    for (const n of nul) {
      issues.push(
        issueAt(ctx, n.path, nulByteMessage, { received: JSON.stringify(n.text).slice(0, 60) }),
      );
    }
    for (const issue of result.success ? [] : result.issues) {
      const extraPath = (issue.path ?? []).map((p) => p.key as string | number);
      const isType = issue.kind === "schema";
      issues.push(
        issueAt(ctx, [...sub, key, ...extraPath], isType ? "wrong type" : issue.message, {
          ...(issue.expected !== null ? { expected: prettyExpected(issue.expected) } : {}),
          received: isType ? prettyExpected(issue.received) : issue.received,
        }),
      );
    }
  }
  for (const key of required) {
    if (raw[key] === undefined || raw[key] === null) {
      if (failed.has(key)) continue;
      if (raw[key] === null) continue; // reported by the field's own schema
      failed.add(key);
      issues.push(issueAt(ctx, sub, `missing required field "${key}"`, { expected: key }));
    }
  }
  return { out, failed };
}

function prettyExpected(s: string): string {
  return s.replace(/\bObject\b/g, "a mapping").replace(/\bArray\b/g, "a list");
}

function healthCheck(
  raw: unknown,
  ctx: SourceContext,
  issues: ConfigIssue[],
): HealthCheck | undefined | null {
  if (raw === null || raw === undefined) return undefined;
  const sub = ["health_check"];
  if (!isMapping(raw)) {
    issues.push(
      issueAt(ctx, sub, "wrong type", { expected: "a mapping", received: describeValue(raw) }),
    );
    return null;
  }
  const { out, failed } = parseFields(
    entriesOfRows(healthCheckFieldTable),
    healthCheckFields,
    raw,
    ctx,
    sub,
    issues,
    ["type"],
  );
  if (failed.size > 0) return null;
  const before = issues.length;
  const argv = healthCheckTypeIssues(out as HealthCheckOutput, ctx, sub, issues);
  if (issues.length > before) return null;
  // Every row is filled: from its value, else its default (`type` is required).
  const result = {} as Mutable<HealthCheck>;
  fillRows(healthCheckFieldTable, out, result);
  if (argv !== undefined) result.argv = argv;
  return result;
}

/** The rows of a health check, each read as a FieldRow (any column). */
const healthCheckRows: readonly FieldRow[] = healthCheckFieldTable;

/**
 * The fields a health check of its type needs, and those it must not have. Answers the argv of
 * an exec check.
 */
function healthCheckTypeIssues(
  hc: HealthCheckOutput,
  ctx: SourceContext,
  sub: YamlPath,
  issues: ConfigIssue[],
): string[] | undefined {
  // A field at its default is not used: Describe writes every default, and its spec comes back
  // whole through Update (`method: GET` on a tcp check).
  const only = (fields: readonly (keyof HealthCheckOutput)[], types: string) => {
    for (const f of fields) {
      const row = healthCheckRows.find((r) => r.yaml === f);
      if (hc[f] !== undefined && hc[f] !== null && !isDeepStrictEqual(hc[f], row?.default)) {
        issues.push(
          issueAt(ctx, [...sub, f], `"${f}" is only used by ${types} health checks`, {
            expected: `no "${f}" for a ${hc.type} check`,
          }),
        );
      }
    }
  };
  const need = (f: keyof HealthCheckOutput, why: string) => {
    if (hc[f] === undefined || hc[f] === null) {
      issues.push(issueAt(ctx, sub, `missing "${f}" (${why})`, { expected: f }));
    }
  };
  let argv: string[] | undefined;
  if (hc.interval === 0) {
    issues.push(
      issueAt(ctx, [...sub, "interval"], "a check needs time between runs", {
        expected: "a duration above 0",
        received: "0",
      }),
    );
  }
  if (hc.type === "http") {
    need("endpoint", "required by http checks");
    only(["command", "args"], "exec");
    const endpoint = hc.endpoint ?? undefined;
    if (endpoint !== undefined) {
      if (/^https?:\/\//.test(endpoint)) {
        try {
          new URL(endpoint);
        } catch {
          issues.push(
            issueAt(ctx, [...sub, "endpoint"], "invalid URL", {
              received: JSON.stringify(endpoint),
            }),
          );
        }
      } else if (endpoint.startsWith("/")) {
        need("port", `the endpoint "${endpoint}" is a path: the port is needed`);
      } else {
        issues.push(
          issueAt(ctx, [...sub, "endpoint"], "invalid endpoint", {
            expected: 'a URL ("http://127.0.0.1:8000/health") or a path ("/health") with port',
            received: JSON.stringify(endpoint),
          }),
        );
      }
    }
  } else if (hc.type === "tcp") {
    need("port", "required by tcp checks");
    only(["endpoint", "method", "expected_status"], "http");
    only(["command", "args"], "exec");
  } else {
    need("command", "required by exec checks");
    only(["endpoint", "method", "expected_status"], "http");
    only(["host", "port"], "http and tcp");
    if (hc.command) argv = [...commandArgv(hc.command), ...(hc.args ?? [])];
  }
  return argv;
}

function resourceLimits(
  raw: unknown,
  ctx: SourceContext,
  issues: ConfigIssue[],
): ResourceLimits | undefined | null {
  if (raw === null || raw === undefined) return undefined;
  const sub = ["resource_limits"];
  if (!isMapping(raw)) {
    issues.push(
      issueAt(ctx, sub, "wrong type", { expected: "a mapping", received: describeValue(raw) }),
    );
    return null;
  }
  const { out, failed } = parseFields(
    entriesOfRows(resourceLimitFieldTable),
    resourceLimitFields,
    raw,
    ctx,
    sub,
    issues,
    [],
  );
  if (failed.size > 0) return null;
  const result: ResourceLimits = {};
  fillRows(resourceLimitFieldTable, out, result);
  return Object.keys(result).length === 0 ? undefined : result;
}

/** The names a process refers to (collected even when the process itself is invalid). */
export interface DependencyRefs {
  readonly name: string;
  readonly ctx: SourceContext;
  readonly deps: readonly (readonly [field: string, names: readonly string[]])[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Validate one process definition (YAML-shaped, snake_case). Pushes every issue found to
 * `issues`; returns the resolved config when there was none.
 */
export function validateProcess(
  name: string,
  raw: unknown,
  ctx: SourceContext,
  issues: ConfigIssue[],
  refs?: DependencyRefs[],
): ProcessConfig | undefined {
  const before = issues.length;
  const problem = nameProblem(name);
  if (problem !== undefined) {
    issues.push(
      issueAt(ctx, [], problem, {
        where: "key",
        expected: "a name without whitespace or /",
        received: JSON.stringify(name),
      }),
    );
  }
  if (!isMapping(raw)) {
    issues.push(
      issueAt(
        ctx,
        [],
        raw === null || raw === undefined ? "empty process definition" : "wrong type",
        {
          expected: "a mapping with at least a command",
          received: describeValue(raw),
        },
      ),
    );
    return undefined;
  }
  const values = parseProcessFields(raw, ctx, issues, requiredFields);
  refs?.push({
    name,
    ctx,
    deps: dependencyFields.map(([key, field]) => [field, values[key] ?? []] as const),
  });
  // Every row is filled, from its value or its default, so the checks across fields see a
  // whole process even when some field was wrong (every issue is reported at once).
  const config = { name } as Mutable<ProcessConfig>;
  fillRows(flatRows, values, config, (row) => row.key);
  if (values.healthCheck !== undefined) config.healthCheck = values.healthCheck;
  if (values.resourceLimits !== undefined) config.resourceLimits = values.resourceLimits;
  completeProcess(config, values.restartMaxDelaySec !== undefined, ctx, issues);
  if (issues.length > before) return undefined;
  origins.set(config, ctx);
  return config;
}

/** The fields a process definition must have (the rows marked `required`). */
const requiredFields: readonly string[] = processFieldTable
  .filter((row) => row.required === true)
  .map((row) => row.yaml);

/** What `parseProcessFields` answers: the valid fields given, by ProcessConfig key. */
type ParsedFields = Partial<Mutable<ProcessConfig>>;

/**
 * Each field given in `raw`, validated on its own by its row (health_check and resource_limits
 * by their own rows and the checks of their type), by ProcessConfig key; unknown keys and every
 * bad value are issues. A field with an issue is left out.
 */
function parseProcessFields(
  raw: Record<string, unknown>,
  ctx: SourceContext,
  issues: ConfigIssue[],
  required: readonly string[],
): ParsedFields {
  const { out } = parseFields(
    entriesOfRows(flatRows),
    processFields,
    raw,
    ctx,
    [],
    issues,
    required,
  );
  const values: Record<string, unknown> = {};
  for (const row of flatRows) if (out[row.yaml] !== undefined) values[row.key] = out[row.yaml];
  const hc = healthCheck(raw.health_check, ctx, issues);
  const rl = resourceLimits(raw.resource_limits, ctx, issues);
  if (hc) values.healthCheck = hc;
  if (rl) values.resourceLimits = rl;
  return values as ParsedFields;
}

/** The rows validated one by one (health_check and resource_limits have their own). */
const flatRows: readonly FieldRow[] = processFieldTable.filter((row) => row.fields === undefined);

/**
 * An Update's fields with those of nested messages ("health_check.interval") folded into their
 * message: the message's current fields (processes.yaml form) with the listed ones set from
 * `given`'s message, or unset where it has none (their defaults apply); a message left with no
 * field is unset. A message also listed whole is taken as given.
 */
function foldNestedFields(
  current: ProcessConfig,
  given: Readonly<Record<string, unknown>>,
  fields: readonly string[],
  ctx: SourceContext,
): { given: Record<string, unknown>; fields: ProcessFieldName[] } {
  const out: Record<string, unknown> = { ...given };
  const whole = new Set<string>();
  const nested = new Map<FieldRow, string[]>();
  for (const field of fields) {
    const dot = field.indexOf(".");
    if (dot < 0) {
      whole.add(field);
      continue;
    }
    const parent = processFieldTable.find((r) => r.yaml === field.slice(0, dot) && r.fields);
    const child = field.slice(dot + 1);
    if (parent === undefined || !parent.fields?.some((r) => r.yaml === child)) {
      throw ConfigError.fromIssues([issueAt(ctx, [field], "unknown field")]);
    }
    nested.set(parent, [...(nested.get(parent) ?? []), child]);
  }
  for (const [parent, children] of nested) {
    if (whole.has(parent.yaml)) continue;
    whole.add(parent.yaml);
    const value = (current as Readonly<Record<string, unknown>>)[parent.key];
    const merged = value === undefined ? {} : rowsToYaml(parent.fields ?? [], value as object);
    const sub = given[parent.yaml];
    for (const child of children) {
      const v = isMapping(sub) ? sub[child] : undefined;
      if (v === undefined) delete merged[child];
      else merged[child] = v;
    }
    if (Object.keys(merged).length === 0) delete out[parent.yaml];
    else out[parent.yaml] = merged;
  }
  return { given: out, fields: [...whole] as ProcessFieldName[] };
}

/**
 * Update: `current` with the listed processes.yaml fields set to their values in `given` (the
 * YAML shape, `specToRaw` of an Update's spec), or reset to their defaults where `given` has
 * none; a field of a nested message ("health_check.interval") is set on the current message
 * (`foldNestedFields`). Each given value is validated by its row, then the whole process by the
 * checks across fields, as a process of the file is; the derived values follow (argv; the
 * restart delay's cap, unless given or set apart from what it derives to). Throws ConfigError
 * with every issue.
 */
export function updateProcessConfig(
  current: ProcessConfig,
  givenFields: Readonly<Record<string, unknown>>,
  listed: readonly string[],
): ProcessConfig {
  const ctx: SourceContext = { nodePath: [], displayPrefix: ["processes", current.name] };
  const issues: ConfigIssue[] = [];
  const { given, fields } = foldNestedFields(current, givenFields, listed, ctx);
  const raw = Object.fromEntries(fields.flatMap((f) => (f in given ? [[f, given[f]]] : [])));
  const values = parseProcessFields(raw, ctx, issues, []);
  const config = { ...current } as Mutable<ProcessConfig>;
  const target = config as Record<string, unknown>;
  for (const row of processFieldTable.filter((r) => fields.includes(r.yaml as ProcessFieldName))) {
    const value = (values as Record<string, unknown>)[row.key] ?? fresh(row.default);
    if (value === undefined) delete target[row.key];
    else target[row.key] = value;
  }
  const maxDelayGiven = fields.includes("restart_max_delay_sec")
    ? values.restartMaxDelaySec !== undefined
    : current.restartMaxDelaySec !== derivedMaxDelay(current.restartSec);
  completeProcess(config, maxDelayGiven, ctx, issues);
  if (issues.length > 0) throw ConfigError.fromIssues(issues);
  return config;
}

/**
 * Resolve one process from its YAML-shaped form (snake_case keys, as in processes.yaml): the
 * API and the CLI use this too. Throws ConfigError with every issue found.
 */
export function resolveProcessConfig(
  name: string,
  raw: unknown,
  origin?: { file?: string; path?: string },
): ProcessConfig {
  const ctx: SourceContext = {
    ...(origin?.file === undefined ? {} : { file: origin.file }),
    nodePath: [],
    displayPrefix:
      origin?.path === undefined ? ["processes", name] : origin.path === "" ? [] : [origin.path],
  };
  const issues: ConfigIssue[] = [];
  const config = validateProcess(name, raw, ctx, issues);
  if (config === undefined || issues.length > 0) throw ConfigError.fromIssues(issues);
  return config;
}
