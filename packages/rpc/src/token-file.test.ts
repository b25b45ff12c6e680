import { strict as assert } from "node:assert";
import { lstat, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { minTokenLength, newToken, readTokenFile, writeTokenFile } from "./token-file.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "rpc-token-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("a new token is 64 hex characters, a different one each time", () => {
  const a = newToken();
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.notEqual(newToken(), a);
  assert.ok(a.length >= minTokenLength);
});

test("writeTokenFile replaces the file atomically, mode 0600, leaving no temporary file", async () => {
  const path = join(dir, "dd-procmgrd.token");
  await writeTokenFile(path, "first");
  await writeTokenFile(path, "second");
  assert.equal(await readFile(path, "utf8"), "second\n");
  assert.equal((await lstat(path)).mode & 0o777, 0o600);
  assert.deepEqual(await readdir(dir), ["dd-procmgrd.token"]);
  assert.equal(await readTokenFile(path), "second");
});

test("writeTokenFile replaces a symlink instead of writing through it", async () => {
  const target = join(dir, "elsewhere");
  await writeFile(target, "untouched");
  const path = join(dir, "linked.token");
  await symlink(target, path);
  await writeTokenFile(path, "mine");
  assert.equal(await readFile(target, "utf8"), "untouched");
  assert.ok((await lstat(path)).isFile());
  assert.equal(await readTokenFile(path), "mine");
});

test("readTokenFile: undefined for a missing or empty file", async () => {
  assert.equal(await readTokenFile(join(dir, "missing")), undefined);
  await writeFile(join(dir, "empty"), "\n");
  assert.equal(await readTokenFile(join(dir, "empty")), undefined);
});
