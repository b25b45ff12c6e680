// Tests of scripts/node-runtime.mjs (owned with this package, like build-sea.mjs): the pinned
// floor is what every package.json's `engines` says, and `workspace` picks this machine's Node
// only when it is at least that floor, else the pinned LTS.
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

const exec = promisify(execFile);
const repo = fileURLToPath(new URL("../../../", import.meta.url));
const script = join(repo, "scripts", "node-runtime.mjs");

/** What the script exports (it is plain JavaScript: typed here). */
interface NodeRuntimeModule {
  readonly NODE_RUNTIME_VERSION: string;
  readonly NODE_FLOOR_VERSION: string;
  atLeast(version: string, floor: string): boolean;
}

const runtimeModule = (): Promise<NodeRuntimeModule> =>
  import(pathToFileURL(script).href) as Promise<NodeRuntimeModule>;

async function pins(): Promise<{ lts: string; floor: string }> {
  const m = await runtimeModule();
  return { lts: m.NODE_RUNTIME_VERSION, floor: m.NODE_FLOOR_VERSION };
}

/** The node binary `node-runtime.mjs <which>` prints, run by `node`. */
async function chosen(node: string, which: string): Promise<{ path: string; stderr: string }> {
  const { stdout, stderr } = await exec(node, [script, which], { cwd: repo, timeout: 300_000 });
  return { path: stdout.trim(), stderr };
}

async function versionOf(node: string): Promise<string> {
  return (await exec(node, ["--version"])).stdout.trim();
}

describe("scripts/node-runtime.mjs", () => {
  test("every package.json's engines is the pinned floor", async () => {
    const { floor } = await pins();
    const { stdout } = await exec("git", ["ls-files", "*package.json"], { cwd: repo });
    const files = stdout.split("\n").filter((f) => f !== "");
    assert.ok(files.length >= 10, files.join(", "));
    for (const file of files) {
      const pkg = JSON.parse(await readFile(join(repo, file), "utf8")) as {
        engines?: { node?: string };
      };
      assert.equal(pkg.engines?.node, `>=${floor}`, file);
    }
  });

  test("lts and floor are the pinned releases", async () => {
    const { lts, floor } = await pins();
    assert.equal(await versionOf((await chosen(process.execPath, "lts")).path), `v${lts}`);
    assert.equal(await versionOf((await chosen(process.execPath, "floor")).path), `v${floor}`);
  });

  test("workspace: a Node at least the floor runs it itself", async () => {
    const floorNode = (await chosen(process.execPath, "floor")).path;
    const r = await chosen(floorNode, "workspace");
    assert.equal(r.path, floorNode);
    assert.equal(r.stderr, "");
  });

  test("workspace: an older Node hands over to the pinned LTS, saying so", async (t) => {
    const { lts, floor } = await pins();
    // Debian's own node, when the machine has one older than the floor (this CI's has 20).
    const old = "/usr/bin/node";
    const { atLeast } = await runtimeModule();
    if (!existsSync(old) || atLeast((await versionOf(old)).slice(1), floor)) {
      t.skip(`no Node older than ${floor} at ${old}`);
      return;
    }
    const r = await chosen(old, "workspace");
    assert.equal(await versionOf(r.path), `v${lts}`);
    assert.match(r.stderr, new RegExp(`older than the ${floor.replaceAll(".", "\\.")}`));
  });

  test("bin/ commands run on the Node scripts/run recorded, else on this machine's", async () => {
    // A copy of bin/ in a tree of its own, whose pm-cli.js says which Node runs it.
    const tree = await mkdtemp(join(tmpdir(), "pm-bin-"));
    try {
      await mkdir(join(tree, "bin"));
      await mkdir(join(tree, "apps", "cli", "bin"), { recursive: true });
      for (const f of [".node", "pm-cli"])
        await copyFile(join(repo, "bin", f), join(tree, "bin", f));
      await writeFile(
        join(tree, "apps", "cli", "bin", "pm-cli.js"),
        "console.log(process.version, process.argv.slice(2).join(' '))\n",
      );
      const pmCli = join(tree, "bin", "pm-cli");
      const onPath = { ...process.env, PATH: `${dirname(process.execPath)}:/usr/bin:/bin` };
      const before = await exec(pmCli, ["a b", "c"], { env: onPath });
      assert.equal(before.stdout, `${process.version} a b c\n`);
      const floorNode = (await chosen(process.execPath, "floor")).path;
      await mkdir(join(tree, "node_modules", ".cache", "procmgr-node"), { recursive: true });
      await writeFile(
        join(tree, "node_modules", ".cache", "procmgr-node", "workspace-node"),
        `${floorNode}\n`,
      );
      const after = await exec(pmCli, ["x"], { env: onPath });
      assert.equal(after.stdout, `${await versionOf(floorNode)} x\n`);
    } finally {
      await rm(tree, { recursive: true, force: true });
    }
  });

  test("an unknown runtime is named", async () => {
    await assert.rejects(chosen(process.execPath, "nightly"), /unknown runtime "nightly"/);
  });
});
