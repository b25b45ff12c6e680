import type { Readable, Writable } from "node:stream";
import { programNameFrom, runCli } from "./cli.js";
import type { CliContext } from "./context.js";

export interface MainIo {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  uid?: number;
  cwd?: string;
  signal?: AbortSignal;
}

function colorDepthOf(stream: Writable): number {
  const tty = stream as Writable & { isTTY?: boolean; getColorDepth?: () => number };
  return tty.isTTY === true && typeof tty.getColorDepth === "function" ? tty.getColorDepth() : 1;
}

/**
 * The CLI entry point: `main(process.argv.slice(2), process.env, process.argv[1])` resolves to
 * the exit code. The program name ("pm-cli", "dd-procmgr-cli", "psh") comes from PM_CLI_NAME
 * or the basename of argv0. No top-level await, no import.meta: this is bundled to CommonJS.
 */
export async function main(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  argv0: string | undefined = process.argv[1],
  io: MainIo = {},
): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  let controller: AbortController | undefined;
  let signal = io.signal;
  const onSignal = () => controller?.abort();
  if (signal === undefined) {
    controller = new AbortController();
    signal = controller.signal;
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  }
  const context: CliContext = {
    env,
    stdin: io.stdin ?? process.stdin,
    stdout,
    stderr,
    colorDepth: colorDepthOf(stdout),
    programName: programNameFrom(argv0, env),
    cwd: io.cwd ?? process.cwd(),
    uid: io.uid ?? (typeof process.getuid === "function" ? process.getuid() : 0),
    signal,
  };
  try {
    // `pnpm --filter cli start -- list` hands us a leading "--": it never means anything here.
    return await runCli(argv[0] === "--" ? argv.slice(1) : argv, context);
  } finally {
    if (controller !== undefined) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  }
}
