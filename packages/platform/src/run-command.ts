/** Running a command to completion, capturing its output. */
import { spawn } from "node:child_process";

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `argv` (no shell) and resolves with its exit code and output; never rejects. A missing
 * executable is code 127, one that cannot be run 126, a death by signal 128. `input` is written
 * to its stdin (which is closed either way).
 */
export function runCommand(
  argv: readonly string[],
  options: { readonly env: NodeJS.ProcessEnv; readonly input?: string },
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const [file, ...args] = argv;
    if (file === undefined) {
      resolve({ code: 127, stdout: "", stderr: "empty command" });
      return;
    }
    const child = spawn(file, args, { env: options.env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.stdin.on("error", () => {
      // the command may not read its input
    });
    child.on("error", (e: NodeJS.ErrnoException) => {
      resolve({
        code: e.code === "ENOENT" ? 127 : 126,
        stdout: "",
        stderr: `${file}: ${e.message}`,
      });
    });
    child.on("close", (code, signal) => {
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    child.stdin.end(options.input ?? "");
  });
}
