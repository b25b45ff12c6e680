import { UsageError } from "clipanion";

/**
 * The flags of `create` and `update`, one per processes.yaml field. `create` and `update` read
 * their arguments through a clipanion proxy and parse them here, so that known flags are
 * recognised anywhere on the line while everything else after COMMAND belongs to the command.
 */
export type SpecFlagKind =
  | "string"
  | "bool"
  | "duration"
  | "int"
  | "enum"
  | "list"
  | "int-list"
  | "env";

export interface SpecFlag {
  /** Long names, "--user". */
  readonly names: readonly string[];
  /** The processes.yaml field (snake_case). */
  readonly field: string;
  readonly kind: SpecFlagKind;
  readonly values?: readonly string[];
  readonly description: string;
  /** Only `update` accepts it. */
  readonly updateOnly?: boolean;
}

export const restartPolicies = ["never", "always", "on-failure", "on-success"] as const;
export const killModes = ["control-group", "process-group", "process", "mixed"] as const;

export const specFlags: readonly SpecFlag[] = [
  { names: ["--user"], field: "user", kind: "string", description: "Run as this user" },
  { names: ["--group"], field: "group", kind: "string", description: "Run with this group" },
  {
    names: ["--auto-start"],
    field: "auto_start",
    kind: "bool",
    description: "Start now and whenever the daemon starts (--no-auto-start to clear)",
  },
  {
    names: ["--stdout"],
    field: "stdout",
    kind: "string",
    description: 'Stdout file, "inherit" or "null" (default: the daemon\'s log file)',
  },
  {
    names: ["--stderr"],
    field: "stderr",
    kind: "string",
    description: 'Stderr file, "inherit" or "null" (default: the daemon\'s log file)',
  },
  {
    names: ["--env"],
    field: "env",
    kind: "env",
    description: "Environment variable KEY=VALUE (repeatable)",
  },
  {
    names: ["--env-file", "--environment-file"],
    field: "environment_file",
    kind: "string",
    description: "File of KEY=VALUE lines (a leading - makes it optional)",
  },
  {
    names: ["--working-dir", "--cwd"],
    field: "working_dir",
    kind: "string",
    description: "Working directory",
  },
  {
    names: ["--restart"],
    field: "restart",
    kind: "enum",
    values: restartPolicies,
    description: "Restart policy: never, always, on-failure, on-success",
  },
  {
    names: ["--restart-sec"],
    field: "restart_sec",
    kind: "duration",
    description: "Delay before a restart (seconds or 500ms, 1m30s)",
  },
  {
    names: ["--restart-max-delay-sec"],
    field: "restart_max_delay_sec",
    kind: "duration",
    description: "Cap of the exponential restart delay",
  },
  {
    names: ["--start-limit-burst"],
    field: "start_limit_burst",
    kind: "int",
    description: "Starts allowed within the interval before the process is failed",
  },
  {
    names: ["--start-limit-interval-sec"],
    field: "start_limit_interval_sec",
    kind: "duration",
    description: "The start limit window",
  },
  {
    names: ["--timeout-start-sec"],
    field: "timeout_start_sec",
    kind: "duration",
    description: "How long starting may take",
  },
  {
    names: ["--timeout-stop-sec"],
    field: "timeout_stop_sec",
    kind: "duration",
    description: "Grace period after the kill signal before SIGKILL",
  },
  {
    names: ["--kill-signal"],
    field: "kill_signal",
    kind: "string",
    description: "Stop signal: SIGTERM, TERM or 15",
  },
  {
    names: ["--kill-mode"],
    field: "kill_mode",
    kind: "enum",
    values: killModes,
    description: "Who gets the stop signal: control-group, process-group, process, mixed",
  },
  {
    names: ["--success-exit-status"],
    field: "success_exit_status",
    kind: "int-list",
    description: "Exit codes counted as success (repeatable or comma-separated)",
  },
  { names: ["--pidfile"], field: "pidfile", kind: "string", description: "PID file to write" },
  {
    names: ["--description"],
    field: "description",
    kind: "string",
    description: "Human description",
  },
  {
    names: ["--after"],
    field: "after",
    kind: "list",
    description: "Start after these processes (repeatable)",
  },
  {
    names: ["--before"],
    field: "before",
    kind: "list",
    description: "Start before these processes (repeatable)",
  },
  {
    names: ["--requires"],
    field: "requires",
    kind: "list",
    description: "Hard dependencies (repeatable)",
  },
  {
    names: ["--wants"],
    field: "wants",
    kind: "list",
    description: "Soft dependencies (repeatable)",
  },
  {
    names: ["--binds-to"],
    field: "binds_to",
    kind: "list",
    description: "Stop when these stop (repeatable)",
  },
  {
    names: ["--conflicts"],
    field: "conflicts",
    kind: "list",
    description: "Never run together with these (repeatable)",
  },
  {
    names: ["--command"],
    field: "command",
    kind: "string",
    description: 'New command line ("node app.js"; replaces the arguments too)',
    updateOnly: true,
  },
];

/** A flag that is not a config field (`--dry-run`, `--address`, `-o`...). */
export interface ExtraFlag {
  readonly names: readonly string[];
  readonly key: string;
  readonly arity: 0 | 1;
}

/** The shared flags of every verb, recognised by the proxy parser too. */
export const baseExtraFlags: readonly ExtraFlag[] = [
  { names: ["--address"], key: "address", arity: 1 },
  { names: ["-o", "--output"], key: "output", arity: 1 },
  { names: ["--color"], key: "color", arity: 0 },
];

export interface ParsedProxyArgs {
  /** Values per config flag, in order given ("true"/"false" for booleans). */
  readonly spec: Map<SpecFlag, string[]>;
  /** Values of extra flags by key (booleans as "true"/"false"; last one wins). */
  readonly extra: Map<string, string>;
  readonly positionals: string[];
  readonly help: boolean;
}

export interface ProxyParseOptions {
  readonly specFlags: readonly SpecFlag[];
  readonly extraFlags: readonly ExtraFlag[];
  /**
   * Index of the positional after which unknown tokens belong to the command (create: 1, the
   * COMMAND). Undefined: unknown flags are always errors (update).
   */
  readonly commandIndex?: number;
}

type Known = { kind: "spec"; flag: SpecFlag } | { kind: "extra"; flag: ExtraFlag };

function lookup(name: string, options: ProxyParseOptions): Known | undefined {
  for (const flag of options.specFlags) {
    if (flag.names.includes(name)) return { kind: "spec", flag };
  }
  for (const flag of options.extraFlags) {
    if (flag.names.includes(name)) return { kind: "extra", flag };
  }
  return undefined;
}

/**
 * Parses a proxy argument list. Known long flags (`--user x`, `--user=x`, `--auto-start`,
 * `--no-auto-start`) are taken anywhere; `-h`/`--help` and short flags only before the
 * command; `--` passes everything after it verbatim as positionals.
 */
export function parseProxyArgs(
  argv: readonly string[],
  options: ProxyParseOptions,
): ParsedProxyArgs {
  const spec = new Map<SpecFlag, string[]>();
  const extra = new Map<string, string>();
  const positionals: string[] = [];
  let help = false;
  const inCommand = () =>
    options.commandIndex !== undefined && positionals.length > options.commandIndex;

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? "";
    if (token === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith("-") || token === "-") {
      positionals.push(token);
      continue;
    }
    const isLong = token.startsWith("--");
    if (!isLong && inCommand()) {
      positionals.push(token);
      continue;
    }
    if ((token === "-h" || token === "--help") && !inCommand()) {
      help = true;
      continue;
    }
    const eq = isLong ? token.indexOf("=") : -1;
    const name = eq >= 0 ? token.slice(0, eq) : token;
    let inline = eq >= 0 ? token.slice(eq + 1) : undefined;
    let known = lookup(name, options);
    let negated = false;
    if (known === undefined && name.startsWith("--no-")) {
      const positive = lookup(`--${name.slice(5)}`, options);
      if (
        positive !== undefined &&
        ((positive.kind === "spec" && positive.flag.kind === "bool") ||
          (positive.kind === "extra" && positive.flag.arity === 0))
      ) {
        known = positive;
        negated = true;
      }
    }
    if (known === undefined) {
      if (inCommand()) {
        positionals.push(token);
        continue;
      }
      throw new UsageError(
        `unknown option ${name}${
          options.commandIndex !== undefined
            ? " (to pass options to the command, put them after the command or after --)"
            : ""
        }`,
      );
    }
    const takesValue = known.kind === "spec" ? known.flag.kind !== "bool" : known.flag.arity === 1;
    let value: string;
    if (takesValue) {
      if (negated) throw new UsageError(`option ${name} does not take a value`);
      if (inline === undefined) {
        const next = argv[i + 1];
        if (next === undefined) throw new UsageError(`option ${name} needs a value`);
        inline = next;
        i++;
      }
      value = inline;
    } else {
      if (inline !== undefined && !/^(true|false|yes|no|1|0)$/i.test(inline)) {
        throw new UsageError(`option ${name} is a switch; received ${JSON.stringify(inline)}`);
      }
      const on = inline === undefined || /^(true|yes|1)$/i.test(inline);
      value = String(negated ? !on : on);
    }
    if (known.kind === "spec") {
      const list = spec.get(known.flag) ?? [];
      list.push(value);
      spec.set(known.flag, list);
    } else {
      extra.set(known.flag.key, value);
    }
  }
  return { spec, extra, positionals, help };
}

/** Help text listing the config flags (a markdown-ish bullet list for usage details). */
export function specFlagsHelp(flags: readonly SpecFlag[]): string {
  return flags
    .map((f) => {
      const value = f.kind === "bool" ? "" : f.kind === "env" ? " KEY=VALUE" : " VALUE";
      return `- \`${f.names.join(",")}${value}\`: ${f.description}`;
    })
    .join("\n");
}
