// Helpers of this package's tests (not exported from it).
import * as net from "node:net";
import { PassThrough } from "node:stream";
import type { CommandClass } from "clipanion";
import { runCli } from "./cli.js";
import type { CliContext } from "./context.js";

/** What a command line printed and returned. */
export interface InProcessRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Two streams standing for stdout and stderr, and what was written to them so far. */
export function capturedStreams(): {
  stdout: PassThrough;
  stderr: PassThrough;
  text(): { stdout: string; stderr: string };
} {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c: Buffer) => {
    out += c.toString();
  });
  stderr.on("data", (c: Buffer) => {
    err += c.toString();
  });
  return { stdout, stderr, text: () => ({ stdout: out, stderr: err }) };
}

/** Runs one command line in this process, as the bin would, with captured streams. */
export async function runInProcess(
  argv: string[],
  options: {
    env?: Record<string, string>;
    programName?: string;
    commands?: CommandClass<CliContext>[];
  } = {},
): Promise<InProcessRun> {
  const { stdout, stderr, text } = capturedStreams();
  const context: CliContext = {
    env: options.env ?? {},
    stdin: new PassThrough(),
    stdout,
    stderr,
    colorDepth: 1,
    programName: options.programName ?? "pm-cli",
    cwd: process.cwd(),
    uid: 1000,
    signal: new AbortController().signal,
  };
  const code = await runCli(argv, context, options.commands);
  return { code, ...text() };
}

/** A TCP port on which nothing listens (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
