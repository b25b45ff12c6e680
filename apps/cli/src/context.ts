import type { BaseContext } from "clipanion";

/** Everything a command may touch: streams, environment, identity. Tests pass their own. */
export type CliContext = BaseContext & {
  /** The name the CLI was invoked as: "pm-cli", "dd-procmgr-cli" or "psh". */
  programName: string;
  /** The caller's working directory (create resolves relative script paths against it). */
  cwd: string;
  /** The caller's uid (daemon discovery differs for root). */
  uid: number;
  /** Aborted on SIGINT/SIGTERM: following verbs (logs -f, events) end cleanly. */
  signal: AbortSignal;
};

interface TtyLike {
  isTTY?: boolean;
  columns?: number;
}

/** True when stdout is a terminal. */
export function isTty(context: CliContext): boolean {
  return (context.stdout as TtyLike).isTTY === true;
}

/** The terminal width, or undefined when stdout is not a terminal. */
export function terminalColumns(context: CliContext): number | undefined {
  const out = context.stdout as TtyLike;
  return out.isTTY === true && typeof out.columns === "number" && out.columns > 0
    ? out.columns
    : undefined;
}
