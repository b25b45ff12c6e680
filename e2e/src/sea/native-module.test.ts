/**
 * koffi's native module inside a single executable. scripts/build-sea.mjs embeds koffi.node as a
 * SEA asset when a bundle imports koffi; the executable writes it to a private directory and
 * loads it from there. The daemon does not open a notify socket yet (its bundle has no koffi), so
 * this builds a small program (notify-check-main.ts) through the same script and runs it away
 * from the repo: it opens a notify socket and receives its own sdNotify.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const e2eDir = resolve(here, "..", "..");
const buildSea = resolve(e2eDir, "..", "scripts", "build-sea.mjs");
const checkMain = join(here, "notify-check-main.js");
const isRoot = process.getuid?.() === 0;
const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));
const cacheName = /^koffi-[0-9a-f]{32}\.node$/;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function exec(file: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd: string) {
  return new Promise<Run>((done) => {
    execFile(file, args, { env, cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      done({ code, stdout, stderr });
    });
  });
}

describe("koffi in a single executable built by build-sea.mjs", () => {
  let dir: string;
  let executable: string;
  let build: Run;
  /** As root the native module goes to /run/dd-procmgr-native-0: removed after if made here. */
  let rootCacheBefore: ReadonlySet<string> = new Set();
  const rootCache = "/run/dd-procmgr-native-0";

  before(
    async () => {
      dir = await mkdtemp(join(tmpdir(), "procmgr-sea-native-"));
      await chmod(dir, 0o755);
      executable = join(dir, "notify-check");
      if (isRoot && existsSync(rootCache)) rootCacheBefore = new Set(await readdir(rootCache));
      build = await exec(
        process.execPath,
        [buildSea, e2eDir, "--main", checkMain, "--name", "notify-check", "--out", executable],
        process.env,
        e2eDir,
      );
      assert.equal(build.code, 0, build.stderr);
    },
    { timeout: 180_000 },
  );
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    if (isRoot && existsSync(rootCache)) {
      for (const f of await readdir(rootCache)) {
        if (!rootCacheBefore.has(f)) await rm(join(rootCache, f), { force: true });
      }
    }
  });

  it("the build says it embedded koffi.node", () => {
    assert.match(build.stdout, /embedding .*koffi-linux-x64.*\/koffi\.node/);
  });

  it("opens a notify socket and receives its own message, away from node_modules", async () => {
    const xdg = join(dir, "xdg-self");
    await mkdir(xdg, { mode: 0o700 });
    const env = { PATH: "/usr/bin:/bin", XDG_RUNTIME_DIR: xdg };
    const first = await exec(executable, [join(dir, "self.sock")], env, dir);
    assert.equal(first.code, 0, first.stderr);
    const got = JSON.parse(first.stdout) as { pid: number; uid: number; raw: string };
    assert.equal(got.uid, process.getuid?.());
    assert.equal(got.raw, "READY=1\nSTATUS=from the single executable");
    assert.ok(got.pid > 0 && got.pid !== process.pid, "sent by the executable");

    const cache = isRoot ? rootCache : join(xdg, `dd-procmgr-native-${process.getuid?.()}`);
    assert.equal(statSync(cache).mode & 0o777, 0o700);
    const files = (await readdir(cache)).filter((f) => cacheName.test(f));
    assert.ok(files.length >= 1, `koffi-<sha256>.node in ${cache}`);
    const before = statSync(join(cache, files[0] ?? ""));

    const second = await exec(executable, [join(dir, "self.sock")], env, dir);
    assert.equal(second.code, 0, second.stderr);
    const after = statSync(join(cache, files[0] ?? ""));
    assert.deepEqual(
      [after.ino, after.mtimeMs],
      [before.ino, before.mtimeMs],
      "reused, not rewritten",
    );
  });

  it("as nobody: extracts into $XDG_RUNTIME_DIR, refuses a directory open to others", {
    skip: !isRoot || setpriv === undefined ? "needs root and setpriv to run as nobody" : false,
  }, async () => {
    const asNobody = (xdg: string) =>
      exec(
        setpriv ?? "setpriv",
        ["--reuid=nobody", "--regid=nogroup", "--clear-groups", executable, join(xdg, "n.sock")],
        { PATH: "/usr/bin:/bin", XDG_RUNTIME_DIR: xdg },
        dir,
      );
    const nobody = await exec("id", ["-u", "nobody"], process.env, dir);
    const uid = Number(nobody.stdout.trim());
    const gid = Number((await exec("id", ["-g", "nobody"], process.env, dir)).stdout.trim());

    const xdg = join(dir, "xdg-nobody");
    await mkdir(xdg, { mode: 0o700 });
    await chown(xdg, uid, gid);
    const ok = await asNobody(xdg);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { uid: number }).uid, uid);
    const cache = statSync(join(xdg, `dd-procmgr-native-${uid}`));
    assert.deepEqual([cache.uid, cache.mode & 0o777], [uid, 0o700]);

    const open = join(dir, "xdg-open");
    await mkdir(open, { mode: 0o700 });
    await chown(open, uid, gid);
    const shared = join(open, `dd-procmgr-native-${uid}`);
    await mkdir(shared, { mode: 0o755 });
    await chmod(shared, 0o755);
    await chown(shared, uid, gid);
    const refused = await asNobody(open);
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /is not a private directory of uid \d+ \(owner \d+, mode 755\): refusing to load native code from it/,
    );
  });
});
