import { readFileSync } from "node:fs";
import { SupervisorError } from "./errors.js";
import type { Identity } from "./identity.js";

export const basePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Parse an environment file: KEY=VALUE lines, `#` comments, optional quotes, `export ` tolerated.
 * Throws SupervisorError("invalid-argument") naming the line of a NUL byte in a name or value:
 * no process environment can carry one (execve's strings end at it; spawn refuses them).
 */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    let line = (lines[n] as string).trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    if (line.startsWith("export ")) line = line.slice(7).trimStart();
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value
        .slice(1, -1)
        .replace(/\\(["\\$`n])/g, (_m, c: string) => (c === "n" ? "\n" : c));
    } else if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) {
      value = value.slice(1, -1);
    }
    if (key.includes("\0") || value.includes("\0")) {
      throw new SupervisorError(
        "invalid-argument",
        `line ${n + 1}: a NUL byte in ${key.includes("\0") ? "a name" : `the value of ${key}`} (an environment cannot carry one)`,
      );
    }
    out[key] = value;
  }
  return out;
}

/** Clean base + environment_file + `env`. Throws when a required env file is unreadable. */
export function buildEnvironment(
  identity: Identity,
  envFile: { readonly path: string; readonly optional: boolean } | undefined,
  env: Readonly<Record<string, string>>,
  extra: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {
    PATH: basePath,
    HOME: identity.home,
    USER: identity.user,
    LOGNAME: identity.user,
    SHELL: identity.shell,
  };
  const lang = process.env.LANG;
  if (lang) out.LANG = lang;
  Object.assign(out, extra);
  if (envFile) {
    let text: string | undefined;
    try {
      text = readFileSync(envFile.path, "utf8");
    } catch (e) {
      if (!envFile.optional) {
        throw new Error(`environment_file ${envFile.path}: ${(e as Error).message}`, { cause: e });
      }
    }
    if (text !== undefined) {
      try {
        Object.assign(out, parseEnvironmentFile(text));
      } catch (e) {
        throw new SupervisorError(
          "invalid-argument",
          `environment_file ${envFile.path}: ${(e as Error).message}`,
          { cause: e },
        );
      }
    }
  }
  Object.assign(out, env);
  return out;
}
