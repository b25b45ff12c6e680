import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { showValue, UnitError } from "./errors.js";

export interface VerifyInput {
  /** Unit file name, e.g. "foo.service". */
  readonly name: string;
  readonly content: string;
}

export interface VerifyOptions {
  /** Verify as user units (`systemd-analyze verify --user`). */
  readonly user?: boolean;
  /**
   * Absolute paths of executables the units run that do not exist on this host: an
   * executable stub is made visible there for the check only (paths under the temp dir are
   * created; others through an overlay mount in a private mount namespace, root only).
   * A leading "~/" means the `home` used for `%h`.
   */
  readonly stubs?: readonly string[];
  /** $HOME for `%h` (default: a fresh temp dir). */
  readonly home?: string;
}

export type VerifyResult =
  | { readonly status: "ok"; readonly stderr: string }
  | { readonly status: "failed"; readonly code: number | null; readonly stderr: string }
  | { readonly status: "skipped"; readonly reason: string };

function run(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    execFile(file, args, { env, encoding: "utf8" }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

function nearestExistingDir(path: string): string {
  let dir = dirname(path);
  while (!existsSync(dir)) dir = dirname(dir);
  return dir;
}

const STUB = "#!/bin/sh\nexit 0\n";

/**
 * Runs `systemd-analyze verify` on the given units (no running systemd needed). `ok` only
 * when it exits 0 and prints nothing on stderr: every warning counts as a failure.
 */
export async function verifyUnits(
  units: readonly VerifyInput[],
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const probe = await run("systemd-analyze", ["--version"], process.env);
  if (probe.code !== 0) return { status: "skipped", reason: "systemd-analyze is not installed" };
  const work = await mkdtemp(join(tmpdir(), "unitgen-verify-"));
  try {
    const unitDir = join(work, "units");
    await mkdir(unitDir);
    const home = options.home ?? join(work, "home");
    await mkdir(home, { recursive: true });
    const runtime = join(work, "runtime");
    await mkdir(runtime, { mode: 0o700 });
    const files = await writeUnits(unitDir, units);
    const overlays = await placeStubs(options.stubs ?? [], home, work);
    const env = {
      ...process.env,
      HOME: home,
      XDG_RUNTIME_DIR: runtime,
      SYSTEMD_PAGER: "",
      SYSTEMD_COLORS: "0",
    };
    const verifyArgs = ["verify", ...(options.user === true ? ["--user"] : []), ...files];
    if (overlays.size === 0) return verdict(await run("systemd-analyze", verifyArgs, env));
    // Awaited here: the work dir must outlive the run.
    return await verifyWithOverlays(overlays, verifyArgs, env);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Writes each unit into `unitDir`; returns their paths. */
async function writeUnits(unitDir: string, units: readonly VerifyInput[]): Promise<string[]> {
  const files: string[] = [];
  for (const u of units) {
    if (u.name.includes("/")) {
      throw new UnitError(
        "invalid-value",
        `verifyUnits: unit name ${showValue(u.name)} contains "/"`,
      );
    }
    const f = join(unitDir, u.name);
    await writeFile(f, u.content);
    files.push(f);
  }
  return files;
}

/**
 * Makes a stub of each missing executable: written in place under the temp dir or `home`,
 * otherwise into a lower dir to overlay on its nearest existing directory. Returns the overlays
 * to mount (target dir -> lower dir holding the stubs).
 */
async function placeStubs(
  stubs: readonly string[],
  home: string,
  work: string,
): Promise<Map<string, string>> {
  const overlays = new Map<string, string>();
  for (const given of stubs) {
    const stub = given.startsWith("~/") ? join(home, given.slice(2)) : given;
    if (existsSync(stub)) continue;
    const inTemp =
      !relative(tmpdir(), stub).startsWith("..") || !relative(home, stub).startsWith("..");
    if (inTemp) {
      await mkdir(dirname(stub), { recursive: true });
      await writeFile(stub, STUB, { mode: 0o755 });
    } else {
      await writeOverlayStub(overlays, work, stub);
    }
  }
  return overlays;
}

/** Writes `stub` into the lower dir of its overlay, adding the overlay if it is the first. */
async function writeOverlayStub(
  overlays: Map<string, string>,
  work: string,
  stub: string,
): Promise<void> {
  const target = nearestExistingDir(stub);
  if (target === "/" || /[,:]/.test(target)) {
    throw new UnitError(
      "invalid-path",
      `verifyUnits: cannot overlay ${showValue(target)} for stub ${showValue(stub)}`,
    );
  }
  let lower = overlays.get(target);
  if (lower === undefined) {
    lower = join(work, `lower-${overlays.size}`);
    overlays.set(target, lower);
  }
  const path = join(lower, relative(target, stub));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, STUB);
  await chmod(path, 0o755);
}

/** Runs `systemd-analyze` in a private mount namespace with the overlays mounted (root only). */
async function verifyWithOverlays(
  overlays: ReadonlyMap<string, string>,
  verifyArgs: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<VerifyResult> {
  if (process.getuid?.() !== 0) {
    return {
      status: "skipped",
      reason: "stub executables outside the temp dir need root (overlay mount)",
    };
  }
  const script = [
    "set -e",
    'while [ "$1" != "--" ]; do mount -t overlay overlay -o "lowerdir=$1:$2" "$2"; shift 2; done',
    "shift",
    'exec systemd-analyze "$@"',
  ].join("\n");
  const pairs = [...overlays].flatMap(([target, lower]) => [lower, target]);
  const result = await run(
    "unshare",
    [
      "-m",
      "--propagation",
      "private",
      "--",
      "sh",
      "-c",
      script,
      "sh",
      ...pairs,
      "--",
      ...verifyArgs,
    ],
    env,
  );
  if (result.code !== 0 && /unshare failed|Operation not permitted/.test(result.stderr)) {
    return {
      status: "skipped",
      reason: `cannot create a private mount namespace: ${result.stderr.trim()}`,
    };
  }
  return verdict(result);
}

/** `ok` only on exit 0 with nothing on stderr. */
function verdict(result: { code: number | null; stderr: string }): VerifyResult {
  if (result.code === 0 && result.stderr.trim() === "") return { status: "ok", stderr: "" };
  return { status: "failed", code: result.code, stderr: result.stderr };
}
