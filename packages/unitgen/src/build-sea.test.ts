// biome-ignore-all lint/suspicious/noTemplateCurlyInString: literal "${VAR}" strings are test data
// Tests of scripts/build-sea.mjs (owned with this package): the installable executables run
// outside the repo, dispatch on their invocation name, and accept file capabilities.
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const script = join(repo, "scripts", "build-sea.mjs");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolvePromise) => {
    // A minimal environment: no NODE_PATH, no repo on any path, no node on PATH.
    const env = { HOME: cwd, PATH: "/nonexistent" };
    execFile(
      file,
      args,
      { cwd, env, encoding: "utf8", timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        resolvePromise({ code, stdout, stderr });
      },
    );
  });
}

function runNode(args: readonly string[]): Promise<Run> {
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      args,
      { encoding: "utf8", timeout: 300_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        resolvePromise({ code, stdout, stderr });
      },
    );
  });
}

async function which(name: string): Promise<string | undefined> {
  for (const dir of ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** The executables under test: the real ones when `pnpm build` made them, else a placeholder. */
interface Target {
  readonly label: string;
  readonly path: string;
  readonly versionPattern: RegExp;
}

let work = "";
const targets: Target[] = [];

before(async () => {
  work = await mkdtemp(join(tmpdir(), "unitgen-sea-"));
  const real: Target[] = [
    {
      label: "dd-procmgrd",
      path: join(repo, "apps/daemon/dist-bin/dd-procmgrd"),
      versionPattern: /\d+\.\d+\.\d+/,
    },
    {
      label: "dd-procmgr-cli",
      path: join(repo, "apps/cli/dist-bin/dd-procmgr-cli"),
      versionPattern: /\d+\.\d+\.\d+/,
    },
  ];
  targets.push(...real.filter((t) => existsSync(t.path)));
  if (targets.length > 0) return;
  // No app built yet: build a tiny placeholder app with the same script (slow: ~15 s).
  const app = join(work, "placeholder-app");
  await mkdir(join(app, "dist"), { recursive: true });
  await writeFile(
    join(app, "dist", "main.js"),
    [
      'import { basename } from "node:path";',
      "export async function main(argv, _env, argv0) {",
      '  if (argv[0] === "--version") process.stdout.write(`placeholder 1.2.3 as ${basename(argv0)}\\n`);',
      '  else if (argv[0] === "--help") process.stdout.write(`usage: ${basename(argv0)} [--version]\\n`);',
      "  else return 2;",
      "  return 0;",
      "}",
      "",
    ].join("\n"),
  );
  const built = await runNode([script, app, "--name", "placeholder", "--pass-argv0"]);
  assert.equal(built.code, 0, built.stderr);
  targets.push({
    label: "placeholder",
    path: join(app, "dist-bin", "placeholder"),
    versionPattern: /placeholder 1\.2\.3 as placeholder/,
  });
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("single executables built by scripts/build-sea.mjs", () => {
  test("run --version and --help from a directory outside the repo, without node on PATH", async () => {
    for (const t of targets) {
      const dir = await mkdtemp(join(work, "run-"));
      const copy = join(dir, t.label);
      await copyFile(t.path, copy);
      const version = await run(copy, ["--version"], dir);
      assert.equal(version.code, 0, `${t.label} --version: ${version.stderr}`);
      assert.match(version.stdout, t.versionPattern);
      assert.doesNotMatch(version.stderr, /ExperimentalWarning|single-executable/);
      const help = await run(copy, ["--help"], dir);
      assert.equal(help.code, 0, `${t.label} --help: ${help.stderr}`);
      assert.notEqual(help.stdout.trim(), "");
    }
  });

  test("the executable sees the name it was invoked by (symlink), as psh/pm-cli need", async () => {
    const t = targets.find((x) => x.label !== "dd-procmgrd");
    assert.ok(t, "no CLI-like executable to test");
    const dir = await mkdtemp(join(work, "link-"));
    await copyFile(t.path, join(dir, t.label));
    await symlink(join(dir, t.label), join(dir, "psh"));
    const help = await run(join(dir, "psh"), ["--help"], dir);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /\bpsh\b/);
  });

  test("setcap cap_setuid,cap_setgid+ep works on the executable and it still runs", async (t) => {
    const setcap = await which("setcap");
    const getcap = await which("getcap");
    if (setcap === undefined || getcap === undefined) {
      t.skip("setcap/getcap not installed (apt-get install libcap2-bin)");
      return;
    }
    if (process.getuid?.() !== 0) {
      t.skip("setcap needs root");
      return;
    }
    for (const target of targets) {
      const dir = await mkdtemp(join(work, "cap-"));
      const copy = join(dir, target.label);
      await copyFile(target.path, copy);
      const set = await run(setcap, ["cap_setuid,cap_setgid+ep", copy], dir);
      if (set.code !== 0 && /Operation not supported|not supported/i.test(set.stderr)) {
        t.skip(
          `the file system of ${dir} does not support extended attributes: ${set.stderr.trim()}`,
        );
        return;
      }
      assert.equal(set.code, 0, set.stderr);
      const get = await run(getcap, [copy], dir);
      assert.match(get.stdout, /cap_setgid,cap_setuid[=+]ep/);
      const version = await run(copy, ["--version"], dir);
      assert.equal(version.code, 0, version.stderr);
      assert.match(version.stdout, target.versionPattern);
    }
  });
});

/** The multi-call executable `pnpm build` makes, when it did. */
const multicall = join(repo, "dist-bin", "procmgr");

describe("the multi-call executable dist-bin/procmgr", {
  skip: existsSync(multicall) ? false : `not built: ${multicall} (run pnpm build)`,
}, () => {
  test("is one file: the daemon's, the CLI's and target/release's names are hard links", async () => {
    const ino = (await stat(multicall)).ino;
    for (const link of [
      "apps/daemon/dist-bin/dd-procmgrd",
      "apps/cli/dist-bin/dd-procmgr-cli",
      "target/release/daemon",
      "target/release/cli",
    ]) {
      assert.equal((await stat(join(repo, link))).ino, ino, link);
    }
  });

  test("runs the program its name says, and the pinned Node LTS", async () => {
    const pinned = (await readFile(join(repo, "scripts", "node-runtime.mjs"), "utf8")).match(
      /NODE_RUNTIME_VERSION = "([\d.]+)"/,
    )?.[1];
    assert.ok(pinned, "NODE_RUNTIME_VERSION in scripts/node-runtime.mjs");
    const { version } = JSON.parse(
      await readFile(join(repo, "apps", "daemon", "package.json"), "utf8"),
    ) as { version: string };
    const dir = await mkdtemp(join(work, "multicall-"));
    await copyFile(multicall, join(dir, "procmgr"));
    const expected: Record<string, string> = {
      "dd-procmgrd": "dd-procmgrd",
      daemon: "dd-procmgrd",
      "dd-procmgr-cli": "dd-procmgr-cli",
      "pm-cli": "pm-cli",
      psh: "psh",
      cli: "dd-procmgr-cli",
    };
    for (const [name, program] of Object.entries(expected)) {
      await symlink("procmgr", join(dir, name));
      const r = await run(join(dir, name), ["--version"], dir);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.equal(r.stdout, `${program} ${version} (node v${pinned})\n`, name);
    }
    const bySub = [
      [["daemon", "--version"], /^dd-procmgrd \S+ \(node v/],
      [["cli", "--version"], /^pm-cli \S+ \(node v/],
      [["psh", "--help"], /\$ psh <command>/],
      [["--version"], new RegExp(`^procmgr \\S+ \\(node v${pinned.replaceAll(".", "\\.")}\\)\n$`)],
    ] as const;
    for (const [args, pattern] of bySub) {
      const r = await run(join(dir, "procmgr"), args, dir);
      assert.equal(r.code, 0, `procmgr ${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stdout, pattern);
    }
    const unknown = await run(join(dir, "procmgr"), ["list"], dir);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /runs as the name it is called by/);
  });

  test("the daemon role runs the daemon: --check-config on the repo's processes.yaml", async () => {
    const r = await run(
      multicall,
      ["daemon", "--check-config", join(repo, "processes.yaml")],
      repo,
    );
    assert.equal(r.code, 0, r.stderr);
  });
});
