import { isAbsolute } from "node:path";
import { parseListenAddress } from "@procmgr/platform";
import * as v from "valibot";
import { normalizeCapability } from "./capabilities.js";
import { didYouMean } from "./did-you-mean.js";
import { durationExpected, parseDuration } from "./duration.js";
import { ConfigError } from "./errors.js";
import { parseSignal } from "./signals.js";
import { shellOperators, splitCommandWords } from "./split-command.js";
import type { EnvironmentFile, OutputTarget, PathCondition, SocketConfig } from "./types.js";

/*
 * The leaf schemas of processes.yaml: one per kind of value, each a valibot schema whose whole
 * validation is one parse function. The fields that use them, with their names in every shape,
 * are the rows of process-fields.ts and nested-fields.ts.
 */

/** Thrown by leaf parsers; turned into a valibot issue (and then a ConfigIssue) by `leaf`. */
class LeafError extends Error {
  readonly expected: string | undefined;
  constructor(message: string, expected?: string) {
    super(message);
    this.expected = expected;
  }
}

/** How a received value is shown in messages: strings quoted, lists and maps named. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}

/**
 * A leaf schema whose whole validation is `parse` (which throws LeafError / ConfigError): one
 * place where messages, expected and received are decided, so every issue reads the same way.
 */
function leaf<TInput, TOutput>(expected: string, parse: (value: unknown) => TOutput) {
  return v.pipe(
    v.custom<TInput>(() => true),
    v.rawTransform<TInput, TOutput>(({ dataset, addIssue, NEVER }) => {
      try {
        return parse(dataset.value);
      } catch (e) {
        if (e instanceof LeafError) {
          addIssue({
            message: e.message,
            expected: e.expected ?? expected,
            received: describeValue(dataset.value),
          });
        } else if (e instanceof ConfigError) {
          const first = e.issues[0];
          addIssue({
            message: first?.message ?? e.message,
            expected: first?.expected ?? expected,
            received: first?.received ?? describeValue(dataset.value),
          });
        } else {
          throw e;
        }
        return NEVER;
      }
    }),
  );
}

function wrongType(value: unknown, expected: string): never {
  throw new LeafError(value === null ? "a value is required" : "wrong type", expected);
}

function asString(value: unknown, expected: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return wrongType(value, expected);
}

function asStringList(value: unknown, expected: string, splitBlanks: boolean): string[] {
  if (typeof value === "string") {
    return splitBlanks ? value.split(/\s+/).filter((s) => s !== "") : [value];
  }
  if (!Array.isArray(value)) return wrongType(value, expected);
  return value.map((item) => {
    if (typeof item !== "string") throw new LeafError("every entry must be a string", expected);
    return item;
  });
}

/** Process names: non-empty, no whitespace, no `/`, no control characters. */
export function nameProblem(name: string): string | undefined {
  if (name === "") return "a process name must not be empty";
  if (/\s/.test(name)) return "a process name must not contain whitespace";
  if (name.includes("/")) return 'a process name must not contain "/"';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters
  if (/[\u0000-\u001f\u007f]/.test(name))
    return "a process name must not contain control characters";
  if (name === "." || name === "..") return `"${name}" is not a valid process name`;
  return undefined;
}

const nameExpected = "a name without whitespace or /";

/** Split a command line; shell operators are rejected since commands never run in a shell. */
export function commandArgv(command: string): string[] {
  if (command.trim() === "") throw new LeafError("the command is empty", "a non-empty command");
  const words = splitCommandWords(command);
  for (const w of words) {
    if (!w.quoted && shellOperators.has(w.value)) {
      throw new LeafError(
        `"${w.value}" is a shell operator, but commands run without a shell (use: bash -c '...')`,
        "a program and its arguments",
      );
    }
  }
  return words.map((w) => w.value);
}

function absolutePath(value: unknown, what: string): string {
  const s = asString(value, `an absolute ${what}`);
  if (s === "") throw new LeafError(`the ${what} is empty`, `an absolute ${what}`);
  if (!isAbsolute(s)) throw new LeafError(`the ${what} must be absolute`, `an absolute ${what}`);
  return s;
}

export function picklistSchema<const T extends string>(options: readonly T[]) {
  const expected = `one of ${options.join(", ")}`;
  return leaf<string, T>(expected, (value) => {
    if (typeof value !== "string") return wrongType(value, expected);
    if ((options as readonly string[]).includes(value)) return value as T;
    const hint = didYouMean(value, options);
    throw new LeafError(
      hint === undefined ? "unknown value" : `unknown value, did you mean "${hint}"?`,
    );
  });
}

export const durationSchema = leaf<string | number, number>(durationExpected, (value) => {
  if (typeof value !== "string" && typeof value !== "number")
    return wrongType(value, durationExpected);
  return parseDuration(value);
});

export function integerSchema(min: number, max = Number.MAX_SAFE_INTEGER) {
  const expected =
    max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  return leaf<number | string, number>(expected, (value) => {
    const n = typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof n !== "number" || !Number.isInteger(n)) return wrongType(value, expected);
    if (n < min || n > max) throw new LeafError("out of range");
    return n;
  });
}

export const stringishSchema = (expected: string) =>
  leaf<string | number | boolean, string>(expected, (value) => asString(value, expected));

export const argsSchema = leaf<(string | number | boolean)[], string[]>(
  "a list of strings",
  (value) => {
    if (!Array.isArray(value)) return wrongType(value, "a list of strings");
    return value.map((item, i) => {
      if (typeof item === "string") return item;
      if (typeof item === "number" || typeof item === "boolean") return String(item);
      throw new LeafError(`args[${i}] must be a string`, "a list of strings");
    });
  },
);

export const commandSchema = leaf<string, string>("a non-empty command", (value) => {
  if (typeof value !== "string") return wrongType(value, "a non-empty command");
  commandArgv(value);
  return value;
});

export const userOrGroupSchema = (what: string) =>
  leaf<string | number, string>(`a ${what} name or numeric id`, (value) => {
    const s = asString(value, `a ${what} name or numeric id`).trim();
    if (s === "" || /\s/.test(s)) throw new LeafError(`invalid ${what} name`);
    return s;
  });

const envName = /^[^=\0]+$/;
export const envSchema = leaf<Record<string, string | number | boolean>, Record<string, string>>(
  "a mapping of NAME: value",
  (value) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return wrongType(value, "a mapping of NAME: value");
    }
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(value)) {
      if (!envName.test(k)) throw new LeafError(`invalid environment variable name "${k}"`);
      if (typeof val === "string" || typeof val === "number" || typeof val === "boolean") {
        out[k] = String(val);
      } else {
        throw new LeafError(
          `the value of ${k} must be a string (received ${describeValue(val)})`,
          "a mapping of NAME: value",
        );
      }
    }
    return out;
  },
);

export const environmentFileSchema = leaf<string, EnvironmentFile>(
  'an absolute path, "-" prefixed when optional',
  (value) => {
    const s = asString(value, 'an absolute path, "-" prefixed when optional');
    const optional = s.startsWith("-");
    return { path: absolutePath(optional ? s.slice(1) : s, "path"), optional };
  },
);

const outputExpected = "an absolute file path, journal, inherit or null";
export const outputSchema = leaf<string | null, OutputTarget>(outputExpected, (value) => {
  if (value === null || value === "null") return { kind: "null" };
  if (value === "inherit") return { kind: "inherit" };
  if (value === "journal") return { kind: "journal" };
  if (typeof value !== "string") return wrongType(value, outputExpected);
  if (!isAbsolute(value)) throw new LeafError("not an absolute path, journal, inherit or null");
  return { kind: "file", path: value };
});

const hookExpected = "a command line, or a list of command lines (or argv lists)";
export const hookSchema = leaf<string | (string | string[])[], string[][]>(
  hookExpected,
  (value) => {
    const one = (item: unknown): string[] => {
      if (typeof item === "string") return commandArgv(item);
      if (Array.isArray(item) && item.length > 0) {
        return item.map((w) => asString(w, hookExpected));
      }
      if (Array.isArray(item)) throw new LeafError("an empty argv list", hookExpected);
      return wrongType(item, hookExpected);
    };
    if (typeof value === "string") return [one(value)];
    if (!Array.isArray(value)) return wrongType(value, hookExpected);
    return value.map(one);
  },
);

const runtimeDirExpected = "relative directory names (under /run), a string or a list";
export const runtimeDirectorySchema = leaf<string | string[], string[]>(
  runtimeDirExpected,
  (value) => {
    const names = asStringList(value, runtimeDirExpected, true);
    for (const n of names) {
      if (
        n === "" ||
        isAbsolute(n) ||
        n.split("/").some((p) => p === ".." || p === "." || p === "")
      ) {
        throw new LeafError(`invalid runtime directory "${n}"`, runtimeDirExpected);
      }
    }
    return names;
  },
);

const conditionExpected = 'absolute paths, optionally prefixed by "|" (any of) and/or "!" (not)';
export const conditionSchema = leaf<string | string[], PathCondition[]>(
  conditionExpected,
  (value) => {
    return asStringList(value, conditionExpected, false).map((raw) => {
      let s = raw.trim();
      let anyOf = false;
      let negate = false;
      if (s.startsWith("|")) {
        anyOf = true;
        s = s.slice(1);
      }
      if (s.startsWith("!")) {
        negate = true;
        s = s.slice(1);
      }
      if (!isAbsolute(s)) throw new LeafError(`invalid path condition "${raw}"`, conditionExpected);
      return { path: s, negate, anyOf };
    });
  },
);

const capsExpected = "capability names (CAP_NET_BIND_SERVICE or net_bind_service)";
export const capabilitiesSchema = leaf<string | string[], string[]>(capsExpected, (value) => {
  const out: string[] = [];
  for (const name of asStringList(value, capsExpected, true)) {
    const cap = normalizeCapability(name);
    if (cap === undefined) throw new LeafError(`unknown capability "${name}"`, capsExpected);
    if (!out.includes(cap)) out.push(cap);
  }
  return out;
});

const depsExpected = "process names, a string or a list";
export const dependencySchema = leaf<string | string[], string[]>(depsExpected, (value) => {
  const out: string[] = [];
  for (const name of asStringList(value, depsExpected, true)) {
    const problem = nameProblem(name);
    if (problem !== undefined) throw new LeafError(problem, nameExpected);
    if (!out.includes(name)) out.push(name);
  }
  return out;
});

const exitStatusExpected = "an exit code (0-255) or a list of them";
export const exitStatusSchema = leaf<number | number[], number[]>(exitStatusExpected, (value) => {
  const list = Array.isArray(value) ? value : [value];
  const out: number[] = [];
  for (const n of list) {
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 255) {
      throw new LeafError(`invalid exit status ${describeValue(n)}`, exitStatusExpected);
    }
    if (!out.includes(n)) out.push(n);
  }
  return out;
});

export const signalSchema = leaf<string | number, NodeJS.Signals>(
  'a signal name ("SIGTERM", "TERM") or number (15)',
  (value) => {
    if (typeof value !== "string" && typeof value !== "number") {
      return wrongType(value, 'a signal name ("SIGTERM", "TERM") or number (15)');
    }
    return parseSignal(value);
  },
);

export const booleanSchema = leaf<boolean, boolean>("true or false", (value) => {
  if (typeof value !== "boolean") return wrongType(value, "true or false");
  return value;
});

export const descriptionSchema = leaf<string, string>("a string", (value) =>
  asString(value, "a string"),
);

export const pathSchema = (what: string) =>
  leaf<string, string>(`an absolute ${what}`, (value) => absolutePath(value, what));

// ---------------------------------------------------------------------------------------------
// Resource limits and health checks

const cpuExpected = 'CPU cores: a number (1.5) or millicores ("500m")';
export const cpuSchema = leaf<number | string, number>(cpuExpected, (value) => {
  let n: number;
  if (typeof value === "number") n = value;
  else if (typeof value === "string" && /^\d+m$/.test(value.trim())) {
    n = Number(value.trim().slice(0, -1)) / 1000;
  } else if (typeof value === "string" && /^\d+(\.\d+)?$/.test(value.trim())) n = Number(value);
  else if (typeof value === "string") throw new LeafError("invalid CPU quantity", cpuExpected);
  else return wrongType(value, cpuExpected);
  if (!(n > 0) || !Number.isFinite(n)) throw new LeafError("must be more than 0", cpuExpected);
  return n;
});

const memoryExpected = 'bytes (536870912) or a size with a K, M, G or T suffix ("512M")';
const memoryFactors: Record<string, number> = {
  "": 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};
export const memorySchema = leaf<number | string, number>(memoryExpected, (value) => {
  let n: number;
  if (typeof value === "number") n = value;
  else if (typeof value === "string") {
    const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(value.trim());
    if (m === null) throw new LeafError("invalid size", memoryExpected);
    n = Math.round(Number(m[1]) * (memoryFactors[(m[2] as string).toLowerCase()] as number));
  } else return wrongType(value, memoryExpected);
  if (!Number.isInteger(n) || n <= 0)
    throw new LeafError("must be a positive number of bytes", memoryExpected);
  return n;
});

export const portSchema = integerSchema(1, 65535);

export const httpMethodSchema = leaf<string, string>(
  "an HTTP method (GET, HEAD, POST...)",
  (value) => {
    const s = asString(value, "an HTTP method (GET, HEAD, POST...)").toUpperCase();
    if (!/^[A-Z]+$/.test(s)) throw new LeafError("invalid HTTP method");
    return s;
  },
);

const socketsExpected =
  'sockets: "127.0.0.1:8080", "[::1]:8080", ":8080" or "/run/app.sock" (with "name=" before it), or {listen, name, type, backlog, mode, owner}';
const socketKeys = ["listen", "name", "type", "backlog", "mode", "owner"];

/** "listen=...,name=web" or "web=127.0.0.1:80" or "127.0.0.1:80": the fields of one socket. */
function socketWords(text: string): Record<string, string> {
  if (!text.includes(",") && !socketKeys.some((k) => text.startsWith(`${k}=`))) {
    const named = /^([A-Za-z0-9_.-]+)=(.+)$/.exec(text);
    return named ? { name: named[1] ?? "", listen: named[2] ?? "" } : { listen: text };
  }
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) throw new LeafError(`"${part}": expected key=value`, socketsExpected);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** A unix socket's mode: octal digits as written ("0660", or 660 as YAML reads 0660). */
function socketMode(value: unknown): number {
  const text = asString(value, 'octal like "0660"');
  if (!/^0?[0-7]{3}$/.test(text)) {
    throw new LeafError(`mode ${JSON.stringify(value)}: expected octal like "0660"`);
  }
  return Number.parseInt(text, 8);
}

function oneSocket(item: unknown): SocketConfig {
  const fields: Record<string, unknown> =
    typeof item === "string"
      ? socketWords(item)
      : typeof item === "object" && item !== null && !Array.isArray(item)
        ? (item as Record<string, unknown>)
        : wrongType(item, socketsExpected);
  for (const key of Object.keys(fields)) {
    if (socketKeys.includes(key)) continue;
    const hint = didYouMean(key, socketKeys);
    throw new LeafError(`unknown socket field "${key}"${hint ? `, did you mean "${hint}"?` : ""}`);
  }
  const listen = asString(fields.listen ?? wrongType(undefined, "listen"), socketsExpected);
  let unix: boolean;
  try {
    unix = parseListenAddress(listen).kind === "unix";
  } catch (e) {
    throw new LeafError(
      `socket ${JSON.stringify(listen)}: ${(e as Error).message}`,
      socketsExpected,
    );
  }
  const out: { -readonly [K in keyof SocketConfig]: SocketConfig[K] } = { listen, type: "stream" };
  if (fields.name !== undefined) {
    const name = asString(fields.name, "a name");
    if (!/^[A-Za-z0-9_.-]{1,255}$/.test(name)) {
      throw new LeafError(
        `socket name ${JSON.stringify(name)}: letters, digits, "_", "." and "-" only`,
      );
    }
    out.name = name;
  }
  if (fields.type !== undefined) {
    if (fields.type !== "stream" && fields.type !== "datagram") {
      throw new LeafError(
        `socket type ${JSON.stringify(fields.type)}: expected stream or datagram`,
      );
    }
    out.type = fields.type;
  }
  if (fields.backlog !== undefined) {
    const n = Number(fields.backlog);
    if (!Number.isInteger(n) || n < 1 || n > 65535) {
      throw new LeafError(
        `socket backlog ${JSON.stringify(fields.backlog)}: an integer from 1 to 65535`,
      );
    }
    out.backlog = n;
  }
  for (const key of ["mode", "owner"] as const) {
    if (fields[key] !== undefined && !unix) {
      throw new LeafError(`socket ${listen}: ${key} is for unix socket paths only`);
    }
  }
  if (fields.mode !== undefined) out.mode = socketMode(fields.mode);
  if (fields.owner !== undefined) out.owner = asString(fields.owner, "user or user:group");
  return out;
}

// An address declared twice (in one process or two) is found when the sockets are opened: that
// process fails, named, and the rest of the config applies.
export const socketsSchema = leaf<unknown, SocketConfig[]>(socketsExpected, (value) =>
  (Array.isArray(value) ? value : [value]).map(oneSocket),
);
