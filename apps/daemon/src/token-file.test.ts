import * as assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import { newToken, writeTokenFile } from "@procmgr/rpc";
import { createLogger } from "./logger.js";
import { TokenFile, tokenFileProblem } from "./token-file.js";

const good = { isFile: true, uid: 1000, mode: 0o100600, token: "x".repeat(32) };

test("tokenFileProblem: a 0600 regular file of the daemon's user with one long token", () => {
  assert.equal(tokenFileProblem(good, 1000), undefined);
  assert.equal(tokenFileProblem({ ...good, isFile: false }, 1000), "not a regular file");
  assert.match(
    tokenFileProblem(good, 0) ?? "",
    /owned by uid 1000, not by the daemon's user \(0\)/,
  );
  assert.match(tokenFileProblem({ ...good, mode: 0o100640 }, 1000) ?? "", /mode 0640 lets others/);
  assert.match(tokenFileProblem({ ...good, token: "short" }, 1000) ?? "", /holds 5 characters/);
  assert.match(tokenFileProblem({ ...good, token: `${good.token} two` }, 1000) ?? "", /one word/);
});

describe("TokenFile", () => {
  let dir: string;
  let logText = "";
  const log = () => {
    const stream = new PassThrough();
    stream.on("data", (c: Buffer) => {
      logText += c.toString();
    });
    return createLogger({ level: "debug", format: "text", stream });
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pm-token-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("writes a fresh 0600 token and accepts what the file holds, following a rotation", async () => {
    const path = join(dir, "dd-procmgrd.token");
    const file = new TokenFile(path, log());
    await file.create();
    const first = (await readFile(path, "utf8")).trim();
    assert.match(first, /^[0-9a-f]{64}$/);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal(await file.current(), first);
    const second = newToken();
    await writeTokenFile(path, second);
    assert.equal(await file.current(), second, "the rotated token, at the next check");
    assert.match(logText, /token file changed: the new token is accepted/);
    assert.ok(!logText.includes(second), "the token is never logged");
    await file.remove();
    await assert.rejects(stat(path), { code: "ENOENT" });
  });

  test("fails closed: a missing, world-readable or short token file accepts nothing", async () => {
    const path = join(dir, "closed.token");
    const file = new TokenFile(path, log());
    await file.create();
    const token = await file.current();
    await chmod(path, 0o644);
    assert.equal(await file.current(), "");
    assert.match(logText, /token file refused: mode 0644 lets others read it/);
    await chmod(path, 0o600);
    assert.equal(await file.current(), token);
    await writeTokenFile(path, "short");
    assert.equal(await file.current(), "");
    await rm(path);
    assert.equal(await file.current(), "");
    assert.match(logText, /token file refused: missing/);
  });

  test("does not read through a symlink", async () => {
    const target = join(dir, "target.token");
    await writeTokenFile(target, newToken());
    const path = join(dir, "link.token");
    await symlink(target, path);
    const file = new TokenFile(path, log());
    assert.equal(await file.current(), "");
  });

  test("reads the file again only when it changed", async () => {
    const path = join(dir, "cached.token");
    const file = new TokenFile(path, log());
    await file.create();
    const token = await file.current();
    assert.equal(await file.current(), token);
    // Rewritten in place (same inode and size): the new mtime and ctime tell.
    const next = newToken();
    await writeFile(path, `${next}\n`, { mode: 0o600 });
    assert.equal(await file.current(), next);
  });
});
