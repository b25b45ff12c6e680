import type { ConfigIssue } from "./errors.js";
import { processDefaults } from "./process-fields.js";
import { splitCommand } from "./split-command.js";
import type { ProcessConfig } from "./types.js";
import { issueAt, type SourceContext, type YamlPath } from "./yaml-source.js";

/*
 * What is checked and derived once a process has all its fields, from a file, Create or Update:
 * the checks across fields (restart delays, dependencies, what a process type needs) and the
 * derived values (argv, the restart delay's cap).
 */

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export const nulByteMessage =
  "contains a NUL byte, which no command, argument, environment or path can hold";

/**
 * The strings of a value that hold a NUL byte, with their paths below `at` (the first 10): no
 * command, argument, environment or path can carry one (execve's strings end at it; spawn
 * refuses them), so a process with one could never start. Iterative, and each shared node (a
 * YAML alias) is walked once: a billion-laughs document costs its distinct nodes only.
 */
export function nulBytes(value: unknown, at: YamlPath): { path: YamlPath; text: string }[] {
  const found: { path: YamlPath; text: string }[] = [];
  const seen = new Set<object>();
  const stack: [unknown, YamlPath][] = [[value, at]];
  for (let top = stack.pop(); top !== undefined && found.length < 10; top = stack.pop()) {
    const [v, path] = top;
    if (typeof v === "string") {
      if (v.includes("\0")) found.push({ path, text: v });
    } else if (v !== null && typeof v === "object" && !seen.has(v)) {
      seen.add(v);
      const entries: [string | number, unknown][] = Array.isArray(v)
        ? v.map((x, i) => [i, x])
        : Object.entries(v);
      for (const [k, x] of entries) {
        if (typeof k === "string" && k.includes("\0")) found.push({ path: [...path, k], text: k });
        stack.push([x, [...path, k]]);
      }
    }
  }
  return found;
}

/** The dependency fields: ProcessConfig key and YAML field. */
export const dependencyFields = [
  ["after", "after"],
  ["before", "before"],
  ["requires", "requires"],
  ["wants", "wants"],
  ["bindsTo", "binds_to"],
  ["conflicts", "conflicts"],
] as const;

/**
 * The checks across fields and the derived values of a whole process: the restart delay's cap
 * (derived when not given), the dependencies, and `argv` from the command and its args.
 */
export function completeProcess(
  config: Mutable<ProcessConfig>,
  maxDelayGiven: boolean,
  ctx: SourceContext,
  issues: ConfigIssue[],
): void {
  if (!maxDelayGiven) config.restartMaxDelaySec = derivedMaxDelay(config.restartSec);
  else if (config.restartMaxDelaySec < config.restartSec) {
    issues.push(
      issueAt(ctx, ["restart_max_delay_sec"], "must not be less than restart_sec", {
        expected: `>= ${config.restartSec}`,
        received: String(config.restartMaxDelaySec),
      }),
    );
  }
  dependencyIssues(config, ctx, issues);
  processTypeIssues(config, ctx, issues);
  // A missing command is an issue already: the config is not used.
  if (config.command !== undefined) config.argv = [...splitCommand(config.command), ...config.args];
}

/**
 * restart_sec's cap when restart_max_delay_sec is not given: its default or restart_sec itself,
 * whichever is larger (`restart_sec: 120` alone means "wait 120 s", not an error).
 */
export function derivedMaxDelay(restartSec: number): number {
  return Math.max(processDefaults.restartMaxDelaySec, restartSec);
}

/** What a process type needs, and the fields only one type uses. */
function processTypeIssues(config: ProcessConfig, ctx: SourceContext, issues: ConfigIssue[]): void {
  const type = config.processType;
  if (config.watchdogSec > 0 && type !== "notify") {
    issues.push(
      issueAt(ctx, ["watchdog_sec"], "only a notify process sends keep-alives (WATCHDOG=1)", {
        expected: "process_type: notify, or no watchdog_sec",
        received: `process_type: ${type}`,
      }),
    );
  }
  if (config.startOnConnect && config.sockets.length === 0) {
    issues.push(
      issueAt(ctx, ["start_on_connect"], "a connection can start only a process that has sockets", {
        expected: "sockets: [...], or no start_on_connect",
      }),
    );
  }
  if (type === "forking" && config.pidfile === undefined) {
    issues.push(
      issueAt(ctx, ["process_type"], "a forking process needs a pidfile naming its main process", {
        expected: "pidfile: /run/<name>.pid",
      }),
    );
  }
  if (type === "oneshot" && (config.restart === "always" || config.restart === "on-success")) {
    issues.push(
      issueAt(
        ctx,
        ["restart"],
        `a oneshot process is done when it exits: "${config.restart}" would run it again and again`,
        {
          expected: "never or on-failure",
          received: config.restart,
        },
      ),
    );
  }
}

/** A process that depends on itself, or both depends on and conflicts with another. */
function dependencyIssues(config: ProcessConfig, ctx: SourceContext, issues: ConfigIssue[]): void {
  const name = config.name;
  for (const [key, field] of dependencyFields) {
    const list = config[key];
    if (list.includes(name)) {
      issues.push(
        issueAt(ctx, [field, list.indexOf(name)], `"${name}" cannot depend on itself`, {
          expected: "another process name",
          received: JSON.stringify(name),
        }),
      );
    }
  }
  for (const [key, field] of dependencyFields) {
    if (key === "before" || key === "conflicts") continue;
    for (const dep of config[key]) {
      if (config.conflicts.includes(dep)) {
        issues.push(
          issueAt(ctx, ["conflicts"], `"${dep}" is both in ${field} and in conflicts`, {
            received: JSON.stringify(dep),
          }),
        );
      }
    }
  }
}
