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
 * A reader that goes away early (`pm-cli list -o json | head -c 100`) makes the next write fail
 * with EPIPE. A Unix tool dies of SIGPIPE there, which Node ignores; the CLI stops the same way:
 * at once, silently, with status 141 (128 + SIGPIPE), instead of an unhandled 'error' event and
 * its stack trace. Other write errors still surface.
 */
function exitQuietlyOnBrokenPipe(stream: Writable): void {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(141);
    throw e;
  });
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
  if (io.stdout === undefined) exitQuietlyOnBrokenPipe(stdout);
  if (io.stderr === undefined) exitQuietlyOnBrokenPipe(stderr);
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
