/**
 * What the config fuzzer asks of each parser: an input is accepted, or rejected by the
 * library's own error (ConfigError, PshError) whose every issue names its problem and where it
 * is (a line, or the field's path). Anything else thrown is a crash.
 */
import { writeFile } from "node:fs/promises";
import { ConfigError, loadConfig } from "@procmgr/config";
import { parseEnvironmentFile, SupervisorError } from "@procmgr/core";
import { PshError, parseHostProfileText } from "@procmgr/psh";

/**
 * accepted, rejected (located): fine; crash: not the library's error; unlocated: a rejection
 * naming no line or path; unusable: accepted, but what no process can be given (a NUL byte).
 */
export type Verdict = "accepted" | "rejected" | "crash" | "unlocated" | "unusable";

export interface Outcome {
  readonly verdict: Verdict;
  /** The rejection's kind (its first issue, quoted values and numbers blanked). */
  readonly reason: string;
  /** The message or stack, for a failure. */
  readonly detail?: string;
}

/** A message's shape: quoted parts and numbers blanked, so that alike rejections count as one. */
export function reasonKey(message: string): string {
  return message
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/'[^']*'/g, "'…'")
    .replace(/\d+/g, "N")
    .replace(/\s+/g, " ")
    .slice(0, 72);
}

function crash(e: unknown): Outcome {
  return {
    verdict: "crash",
    reason: e instanceof Error ? e.name : typeof e,
    detail: e instanceof Error ? (e.stack ?? e.message) : String(e),
  };
}

/** Whether a string (or a key) of `value` holds a NUL byte. */
function hasNul(value: unknown): boolean {
  let found = false;
  JSON.stringify(value, (key: string, v: unknown) => {
    if (key.includes("\0") || (typeof v === "string" && v.includes("\0"))) found = true;
    return v;
  });
  return found;
}

/** processes.yaml through loadConfig (written to `path`, read back as the daemon reads it). */
export async function checkConfigFile(path: string, bytes: Buffer): Promise<Outcome> {
  await writeFile(path, bytes);
  try {
    const { processes } = await loadConfig(path);
    // What the launcher gives spawn: a NUL anywhere makes every start fail.
    const nul = processes.find((p) => hasNul(p));
    if (nul !== undefined) {
      return { verdict: "unusable", reason: "NUL byte accepted", detail: `process ${nul.name}` };
    }
    return { verdict: "accepted", reason: "" };
  } catch (e) {
    if (!(e instanceof ConfigError)) return crash(e);
    const first = e.issues[0];
    const unlocated = e.issues.find(
      (i) => i.message.trim() === "" || (i.path === "" && i.line === undefined),
    );
    if (first === undefined || unlocated !== undefined || e.message.trim() === "") {
      return {
        verdict: "unlocated",
        reason: reasonKey(unlocated?.message ?? e.message),
        detail: `${e.code}: ${e.message}`.slice(0, 500),
      };
    }
    return { verdict: "rejected", reason: reasonKey(first.message) };
  }
}

/**
 * An environment file through parseEnvironmentFile (decoded as the launcher reads it): its
 * typed rejection names the line; what it accepts, a process can be given (no NUL byte).
 */
export function checkEnvironmentFile(bytes: Buffer): Outcome {
  try {
    const env = parseEnvironmentFile(bytes.toString("utf8"));
    const nul = Object.entries(env).find(([k, v]) => `${k}${v}`.includes("\0"));
    if (nul !== undefined) {
      return { verdict: "unusable", reason: "NUL byte accepted", detail: `in ${nul[0]}` };
    }
    return { verdict: "accepted", reason: "" };
  } catch (e) {
    if (!(e instanceof SupervisorError)) return crash(e);
    if (!/^line \d+: \S/.test(e.message)) {
      return { verdict: "unlocated", reason: reasonKey(e.message), detail: e.message };
    }
    return { verdict: "rejected", reason: reasonKey(e.message.replace(/^line \d+: /, "")) };
  }
}

/** A host profile through parseHostProfileText (the format from `file`'s extension). */
export function checkHostProfile(file: string, bytes: Buffer): Outcome {
  try {
    parseHostProfileText(bytes.toString("utf8"), file);
    return { verdict: "accepted", reason: "" };
  } catch (e) {
    if (!(e instanceof PshError)) return crash(e);
    const first = e.issues[0];
    const located = (i: (typeof e.issues)[number]) =>
      i.message.trim() !== "" &&
      (i.line !== undefined ||
        i.path !== "" ||
        (e.code === "invalid" && /the profile/.test(i.message)));
    if (first === undefined || !e.issues.every(located) || !e.message.includes(file)) {
      return {
        verdict: "unlocated",
        reason: reasonKey(first?.message ?? e.message),
        detail: `${e.code}: ${e.message}`.slice(0, 500),
      };
    }
    return { verdict: "rejected", reason: reasonKey(first.message) };
  }
}
