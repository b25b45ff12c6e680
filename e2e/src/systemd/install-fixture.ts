/**
 * Shared pieces of the `daemon install` tests: where the repo's CLI and executables are, what is
 * missing, and polling helpers. Every test runs inside a systemd sandbox (see
 * ../harness/systemd-sandbox.ts); the host's / is its lower layer, so repo paths are the same.
 */
import { accessSync, constants, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ExecResult, Sandbox } from "../harness/systemd-sandbox.js";

/** e2e/dist/systemd/ -> the repo root. */
export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const cliBin = join(repoRoot, "apps", "cli", "bin", "dd-procmgr-cli.js");
const daemonBin = join(repoRoot, "apps", "daemon", "bin", "dd-procmgrd.js");
const cliExe = join(repoRoot, "apps", "cli", "dist-bin", "dd-procmgr-cli");
const daemonExe = join(repoRoot, "apps", "daemon", "dist-bin", "dd-procmgrd");

/** The CLI as run from the repo: `node apps/cli/bin/dd-procmgr-cli.js`. */
export const repoCli: readonly string[] = [process.execPath, cliBin];

/** Why the install tests cannot run yet (a piece is not built), or undefined. */
export function missingPieces(): string | undefined {
  const need = [
    cliBin,
    join(repoRoot, "apps", "cli", "dist", "main.js"),
    daemonBin,
    join(repoRoot, "apps", "daemon", "dist", "main.js"),
  ];
  const missing = need.filter((p) => !existsSync(p));
  return missing.length > 0 ? `not built: ${missing.join(", ")} (run pnpm build)` : undefined;
}

/** True when `pnpm build` produced the standalone executables. */
export function haveStandaloneExecutables(): boolean {
  try {
    accessSync(cliExe, constants.X_OK);
    accessSync(daemonExe, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Arguments telling `daemon install` which executables to install: none when the standalone
 * executables exist (the CLI finds them itself), else small wrappers around the repo's bin
 * scripts written inside the sandbox (PROCMGR_E2E_WRAPPERS=1 forces them).
 */
export async function executableArgs(sb: Sandbox): Promise<string[]> {
  if (haveStandaloneExecutables() && process.env.PROCMGR_E2E_WRAPPERS !== "1") return [];
  const dir = "/opt/procmgr-e2e";
  await sb.writeFile(
    `${dir}/dd-procmgrd`,
    `#!/bin/sh\nexec ${process.execPath} ${daemonBin} "$@"\n`,
    0o755,
  );
  await sb.writeFile(
    `${dir}/dd-procmgr-cli`,
    `#!/bin/sh\nexec ${process.execPath} ${cliBin} "$@"\n`,
    0o755,
  );
  return ["--daemon-binary", `${dir}/dd-procmgrd`, "--cli-binary", `${dir}/dd-procmgr-cli`];
}

/** Formats a result for assertion messages. */
export function show(r: ExecResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/**
 * Runs `probe` until `done` accepts its result; fails with the last result after `timeoutMs`.
 * Waits on an observable condition (the daemon answering, a file appearing), not on time.
 */
export async function until(
  what: string,
  probe: () => Promise<ExecResult>,
  done: (r: ExecResult) => boolean,
  timeoutMs = 20_000,
): Promise<ExecResult> {
  const end = Date.now() + timeoutMs;
  let last: ExecResult = await probe();
  while (!done(last)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${show(last)}`);
    await new Promise((r) => setTimeout(r, 200));
    last = await probe();
  }
  return last;
}

/** The processes.yaml the reload step writes: one long-running process. */
export function sleeperConfig(name: string, seconds: number): string {
  return [
    "processes:",
    `  ${name}:`,
    "    command: /bin/sleep",
    "    args:",
    `      - "${seconds}"`,
    "    auto_start: true",
    "    restart: always",
    "",
  ].join("\n");
}

/** Host PIDs are not visible inside; the PID (inside) of the process running exactly `args`. */
export async function pidOf(sb: Sandbox, args: string): Promise<number | undefined> {
  const r = await sb.exec(["ps", "-eo", "pid=,args="]);
  for (const line of r.stdout.split("\n")) {
    const m = line.trim().match(/^(\d+)\s+(.*)$/);
    if (m?.[2] === args) return Number(m[1]);
  }
  return undefined;
}
