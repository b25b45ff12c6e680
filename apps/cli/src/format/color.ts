/** ANSI styling that is a no-op when disabled (not a TTY, --no-color, NO_COLOR). */
export interface Colors {
  readonly enabled: boolean;
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
  grey(s: string): string;
  cyan(s: string): string;
  bold(s: string): string;
}

const wrap = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;
const same = (s: string) => s;

export function colors(enabled: boolean): Colors {
  if (!enabled) {
    return { enabled, green: same, yellow: same, red: same, grey: same, cyan: same, bold: same };
  }
  return {
    enabled,
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    red: wrap(31, 39),
    grey: wrap(90, 39),
    cyan: wrap(36, 39),
    bold: wrap(1, 22),
  };
}

/** Colours a lowercase state name: green running, yellow transitions, red failed, grey idle. */
export function colorState(c: Colors, state: string): string {
  switch (state) {
    case "running":
      return c.green(state);
    case "starting":
    case "stopping":
    case "backoff":
      return c.yellow(state);
    case "failed":
      return c.red(state);
    case "stopped":
    case "exited":
    case "created":
      return c.grey(state);
    default:
      return state;
  }
}

/** Colours a health status: green healthy, red unhealthy, yellow unknown. */
export function colorHealth(c: Colors, health: string): string {
  switch (health) {
    case "healthy":
      return c.green(health);
    case "unhealthy":
      return c.red(health);
    case "unknown":
      return c.yellow(health);
    default:
      return health;
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point
const ansi = /\u001b\[[0-9;]*m/g;

/** The printed width of a string, ignoring ANSI escapes. */
export function visibleLength(s: string): number {
  return s.replace(ansi, "").length;
}

/** Whether output should be coloured: explicit flag first, then NO_COLOR / FORCE_COLOR, then TTY. */
export function shouldColor(
  flag: boolean | undefined,
  env: Record<string, string | undefined>,
  tty: boolean,
): boolean {
  if (flag !== undefined) return flag;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0") {
    return true;
  }
  return tty && env.TERM !== "dumb";
}
