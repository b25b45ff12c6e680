/**
 * Psyched host profiles: `hosts/<hostname>.(toml|json|jsonc|yaml|yml)`.
 *
 * A profile lists the modules and services a robot runs and their per-unit configuration:
 *
 * ```toml
 * [host]
 * name = "rover1"
 * modules = ["pilot", "ear"]
 * services = ["tts"]
 *
 * [config.mod.ear.env]
 * EAR_BACKEND = "service"
 *
 * [config.srv.tts]
 * up = true
 * ```
 *
 * The legacy spellings `[modules.<name>]` / `[services.<name>]` are accepted too (a table there
 * both lists and configures the unit), as are JSON, JSONC and YAML files of the same shape.
 */
import { readFile } from "node:fs/promises";
import { hostname as osHostname } from "node:os";
import { basename, extname, join } from "node:path";
import { secondDocumentLine } from "@procmgr/platform";
import { load as loadYaml, YAMLException } from "js-yaml";
import { parse as parseToml, TomlError } from "smol-toml";
import * as v from "valibot";
import { PshError, type PshIssue } from "./errors.js";
import { jsonErrorOffset, lineColumn } from "./json-position.js";

/** Extensions tried, in order, for `hosts/<hostname>.<ext>`. The first one found wins. */
export const hostProfileExtensions = ["toml", "json", "jsonc", "yaml", "yml"] as const;
export type HostProfileFormat = "toml" | "json" | "jsonc" | "yaml";

export interface HostModuleConfig {
  readonly name: string;
  /** Listed in `[host] modules` (or has a legacy `[modules.<name>]` table). */
  readonly listed: boolean;
  /** `launch.enabled` (default true): whether the wildcard target includes it. */
  readonly launch: boolean;
  readonly env: Readonly<Record<string, string>>;
}

export interface HostServiceConfig {
  readonly name: string;
  /** Listed in `[host] services` (or has a legacy `[services.<name>]` table). */
  readonly listed: boolean;
  /** `up` (default true): whether the wildcard target includes it. */
  readonly up: boolean;
  readonly env: Readonly<Record<string, string>>;
}

export interface HostProfile {
  readonly file: string;
  readonly format: HostProfileFormat;
  /** `[host] name`, else the file name without extension. */
  readonly name: string;
  /** `[host] ros_domain_id`, as a string, when set. */
  readonly rosDomainId?: string;
  /** `[host.env]`: environment shared by every unit of this host. */
  readonly env: Readonly<Record<string, string>>;
  /** Listed modules first (in profile order), then configured-only ones. */
  readonly modules: readonly HostModuleConfig[];
  readonly services: readonly HostServiceConfig[];
}

const EnvValueSchema = v.union([v.string(), v.number(), v.boolean()]);
const EnvSchema = v.record(v.string(), EnvValueSchema);
const LaunchSchema = v.union([v.boolean(), v.looseObject({ enabled: v.optional(v.boolean()) })]);
const ModuleConfigSchema = v.looseObject({
  env: v.optional(EnvSchema),
  launch: v.optional(LaunchSchema),
});
const ServiceConfigSchema = v.looseObject({
  env: v.optional(EnvSchema),
  up: v.optional(v.boolean()),
});
const HostSchema = v.looseObject({
  name: v.optional(v.string()),
  modules: v.optional(v.array(v.string())),
  services: v.optional(v.array(v.string())),
  ros_domain_id: v.optional(v.union([v.number(), v.string()])),
  env: v.optional(EnvSchema),
});

/** The raw shape of a host profile; unknown keys are kept (Psyched profiles carry many). */
export const HostProfileSchema = v.looseObject({
  host: v.optional(HostSchema),
  config: v.optional(
    v.looseObject({
      mod: v.optional(v.record(v.string(), ModuleConfigSchema)),
      srv: v.optional(v.record(v.string(), ServiceConfigSchema)),
    }),
  ),
  modules: v.optional(v.record(v.string(), ModuleConfigSchema)),
  services: v.optional(v.record(v.string(), ServiceConfigSchema)),
});
export type HostProfileInput = v.InferInput<typeof HostProfileSchema>;
export type HostProfileOutput = v.InferOutput<typeof HostProfileSchema>;

type EnvInput = Record<string, string | number | boolean>;

/** The format of a profile file from its extension. */
export function hostProfileFormat(file: string): HostProfileFormat {
  const ext = extname(file).slice(1).toLowerCase();
  if (ext === "toml" || ext === "json" || ext === "jsonc") return ext;
  if (ext === "yaml" || ext === "yml") return "yaml";
  throw new PshError("parse", `${file}: unsupported host profile extension ".${ext}"`, {
    issues: [
      {
        file,
        path: "",
        message: `unsupported extension ".${ext}"`,
        expected: hostProfileExtensions.map((e) => `.${e}`).join(" | "),
        received: `.${ext}`,
      },
    ],
  });
}

/** Parse a profile's text (format from the file's extension) and validate it. */
export function parseHostProfileText(text: string, file: string): HostProfile {
  const format = hostProfileFormat(file);
  const raw = parseDocument(text, file, format);
  const result = v.safeParse(HostProfileSchema, raw ?? {});
  if (!result.success) {
    const issues = result.issues.map((issue) => toIssue(issue, file));
    const message = issues.map((i) => `${file}: ${i.message}`).join("\n");
    throw new PshError("invalid", message, { issues });
  }
  return normalise(result.output, file, format);
}

/** Host name used to pick the profile: `$PSH_HOST`, else the machine's host name. */
export function resolveHostName(env: NodeJS.ProcessEnv): string {
  const fromEnv = env.PSH_HOST?.trim();
  return fromEnv ? fromEnv : osHostname();
}

/**
 * Find and load `hosts/<host>.<ext>` under the repo root; the first extension found wins. A host
 * name with a domain (`rover1.lan`) falls back to its first label. Returns null when no file
 * exists; throws {@link PshError} when one exists but is malformed.
 */
export async function loadHostProfile(repoRoot: string, host: string): Promise<HostProfile | null> {
  const candidates = [host];
  const short = host.split(".")[0];
  if (short && short !== host) candidates.push(short);
  for (const name of candidates) {
    for (const ext of hostProfileExtensions) {
      const file = join(repoRoot, "hosts", `${name}.${ext}`);
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENOTDIR") continue;
        throw new PshError("io", `${file}: cannot read host profile`, {
          issues: [{ file, path: "", message: `cannot read: ${(e as Error).message}` }],
          cause: e,
        });
      }
      return parseHostProfileText(text, file);
    }
  }
  return null;
}

/** Modules of the profile that the wildcard target means: listed and `launch.enabled`. */
export function enabledModules(profile: HostProfile): string[] {
  return profile.modules.filter((m) => m.listed && m.launch).map((m) => m.name);
}

/** Services of the profile that the wildcard target means: listed and `up`. */
export function enabledServices(profile: HostProfile): string[] {
  return profile.services.filter((s) => s.listed && s.up).map((s) => s.name);
}

function parseDocument(text: string, file: string, format: HostProfileFormat): unknown {
  // JSONC is read as the JSON it strips to (line breaks kept: lines stay right).
  const json = format === "jsonc" ? stripJsonComments(text) : text;
  try {
    switch (format) {
      case "toml":
        return parseToml(text);
      case "yaml":
        return loadYaml(text, { filename: file });
      case "json":
      case "jsonc":
        return JSON.parse(json);
    }
  } catch (e) {
    const where = errorPosition(e, text, json);
    const message = e instanceof Error ? (e.message.split("\n")[0] ?? e.message) : String(e);
    const issue: PshIssue = {
      file,
      path: "",
      message: `cannot parse ${format}: ${message}`,
      ...where,
    };
    const loc = where ? `:${where.line}:${where.column}` : "";
    throw new PshError("parse", `${file}${loc}: ${issue.message}`, { issues: [issue], cause: e });
  }
}

function errorPosition(
  e: unknown,
  text: string,
  json: string,
): { line: number; column: number } | undefined {
  if (e instanceof TomlError) return { line: e.line, column: e.column };
  if (e instanceof YAMLException) {
    if (e.mark) return { line: e.mark.line + 1, column: e.mark.column + 1 };
    // "expected a single document in the stream" has no mark.
    const line = secondDocumentLine(text);
    return line === undefined ? undefined : { line, column: 1 };
  }
  if (e instanceof SyntaxError) {
    // JSON.parse's messages carry a position for some errors only.
    const offset = jsonErrorOffset(json);
    return offset === undefined ? undefined : lineColumn(json, offset);
  }
  return undefined;
}

/**
 * Remove `//` and `/* *\/` comments and trailing commas from JSONC, leaving strings intact and
 * keeping line breaks so JSON.parse positions still point at the right line.
 */
export function stripJsonComments(text: string): string {
  let out = "";
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < n && text[i] !== "\n") i++;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end === -1 ? n : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else {
      out += c;
      i++;
    }
  }
  // Trailing commas: a comma followed only by whitespace before } or ] (strings are intact, so
  // re-scan while skipping them).
  let result = "";
  i = 0;
  while (i < out.length) {
    const c = out[i];
    if (c === '"') {
      let j = i + 1;
      while (j < out.length && out[j] !== '"') j += out[j] === "\\" ? 2 : 1;
      result += out.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === ",") {
      let j = i + 1;
      while (j < out.length && /\s/.test(out[j] ?? "")) j++;
      if (out[j] === "}" || out[j] === "]") {
        i++;
        continue;
      }
    }
    result += c;
    i++;
  }
  return result;
}

function toIssue(issue: v.BaseIssue<unknown>, file: string): PshIssue {
  const path = (issue.path ?? []).map((p) => String(p.key)).join(".");
  const expected = describeExpected(issue.expected);
  const received = describeValue(issue.input);
  const where = path === "" ? "the profile" : path;
  const message =
    issue.kind === "schema" && expected
      ? `Expected ${where} to be ${expected}, received ${received}`
      : `${where}: ${issue.message}`;
  return {
    file,
    path,
    message,
    ...(expected ? { expected } : {}),
    received,
  };
}

function describeExpected(expected: string | null): string | undefined {
  if (!expected) return undefined;
  const parts = expected
    .replace(/^\(|\)$/g, "")
    .split(" | ")
    .map((p) => {
      switch (p) {
        case "Object":
          return "a table";
        case "Array":
          return "an array";
        case "string":
          return "a string";
        case "number":
          return "a number";
        case "boolean":
          return "a boolean";
        default:
          return p;
      }
    });
  return [...new Set(parts)].join(" or ");
}

function describeValue(input: unknown): string {
  if (input === null) return "null";
  if (input === undefined) return "nothing";
  if (Array.isArray(input)) return "array";
  if (input instanceof Date) return "date";
  if (typeof input === "object") return "table";
  return typeof input;
}

function envToStrings(env: EnvInput | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!env) return out;
  for (const [k, val] of Object.entries(env)) out[k] = String(val);
  return out;
}

function launchEnabled(launch: boolean | { enabled?: boolean | undefined } | undefined): boolean {
  if (launch === undefined) return true;
  if (typeof launch === "boolean") return launch;
  return launch.enabled ?? true;
}

function normalise(raw: HostProfileOutput, file: string, format: HostProfileFormat): HostProfile {
  const host = raw.host;
  const configMod = raw.config?.mod ?? {};
  const configSrv = raw.config?.srv ?? {};
  const legacyMod = raw.modules ?? {};
  const legacySrv = raw.services ?? {};

  const moduleOrder = unique([
    ...(host?.modules ?? []),
    ...Object.keys(legacyMod),
    ...Object.keys(configMod),
  ]);
  const listedModules = new Set([...(host?.modules ?? []), ...Object.keys(legacyMod)]);
  const modules: HostModuleConfig[] = moduleOrder.map((name) => {
    const legacy = legacyMod[name];
    const modern = configMod[name];
    const launch = modern?.launch ?? legacy?.launch;
    return {
      name,
      listed: listedModules.has(name),
      launch: launchEnabled(launch),
      env: { ...envToStrings(legacy?.env), ...envToStrings(modern?.env) },
    };
  });

  const serviceOrder = unique([
    ...(host?.services ?? []),
    ...Object.keys(legacySrv),
    ...Object.keys(configSrv),
  ]);
  const listedServices = new Set([...(host?.services ?? []), ...Object.keys(legacySrv)]);
  const services: HostServiceConfig[] = serviceOrder.map((name) => {
    const legacy = legacySrv[name];
    const modern = configSrv[name];
    return {
      name,
      listed: listedServices.has(name),
      up: modern?.up ?? legacy?.up ?? true,
      env: { ...envToStrings(legacy?.env), ...envToStrings(modern?.env) },
    };
  });

  const profile: HostProfile = {
    file,
    format,
    name: host?.name ?? basename(file, extname(file)),
    env: envToStrings(host?.env),
    modules,
    services,
    ...(host?.ros_domain_id !== undefined ? { rosDomainId: String(host.ros_domain_id) } : {}),
  };
  return profile;
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}
