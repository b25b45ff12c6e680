import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PlatformError } from "./errors.js";
import { lookupGroup, lookupUser, supplementaryGroupIds } from "./users.js";

function getent(db: string, key: string): string[] {
  return execFileSync("getent", [db, key], { encoding: "utf8" }).trim().split(":");
}

describe("users and groups through getent", () => {
  it("finds users by name and by uid, like getent passwd", async () => {
    const root = await lookupUser("root");
    assert.deepEqual(root, {
      name: "root",
      uid: 0,
      gid: 0,
      home: getent("passwd", "root")[5],
      shell: getent("passwd", "root")[6],
    });
    assert.equal((await lookupUser("0"))?.name, "root");
    const nobody = getent("passwd", "nobody");
    assert.deepEqual(await lookupUser("nobody"), {
      name: "nobody",
      uid: Number(nobody[2]),
      gid: Number(nobody[3]),
      home: nobody[5],
      shell: nobody[6],
    });
  });

  it("finds groups by name and by gid", async () => {
    assert.equal((await lookupGroup("root"))?.gid, 0);
    assert.equal((await lookupGroup("0"))?.name, "root");
    const nogroup = getent("group", "nogroup");
    assert.equal((await lookupGroup("nogroup"))?.gid, Number(nogroup[2]));
  });

  it("answers undefined for unknown names and ids, and the empty name", async () => {
    assert.equal(await lookupUser("no-such-user-zz"), undefined);
    assert.equal(await lookupGroup("no-such-group-zz"), undefined);
    assert.equal(await lookupUser("4000000000"), undefined);
    assert.equal(await lookupUser(""), undefined);
  });

  it("lists supplementary groups like getent initgroups", async () => {
    const expected = execFileSync("getent", ["initgroups", "root"], { encoding: "utf8" })
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    assert.deepEqual(await supplementaryGroupIds("root"), expected);
    assert.deepEqual(await supplementaryGroupIds("no-such-user-zz"), []);
  });
});

describe("users and groups without getent (the /etc files)", () => {
  let etc = "";
  const options = () => ({ getent: "/nonexistent/getent", etcDir: etc });

  before(async () => {
    etc = await mkdtemp(join(tmpdir(), "platform-etc-"));
    await writeFile(
      join(etc, "passwd"),
      "# a comment\nroot:x:0:0:root:/root:/bin/bash\npilot:x:1001:2001:Pilot:/home/pilot:/bin/sh\nbare:x:1002:1002::\n",
    );
    await writeFile(
      join(etc, "group"),
      "root:x:0:\nrobots:x:2001:\nvideo:x:44:pilot,other\naudio:x:29:other,pilot\nbroken:x:zz:pilot\n",
    );
  });
  after(() => rm(etc, { recursive: true, force: true }));

  it("reads /etc/passwd by name and by uid", async () => {
    assert.deepEqual(await lookupUser("pilot", options()), {
      name: "pilot",
      uid: 1001,
      gid: 2001,
      home: "/home/pilot",
      shell: "/bin/sh",
    });
    assert.equal((await lookupUser("1001", options()))?.name, "pilot");
    assert.deepEqual(await lookupUser("bare", options()), {
      name: "bare",
      uid: 1002,
      gid: 1002,
      home: "",
      shell: "",
    });
    assert.equal(await lookupUser("nobody", options()), undefined);
    assert.equal(await lookupUser("x", options()), undefined, "the password field is no name");
  });

  it("reads /etc/group by name and by gid, with members", async () => {
    assert.deepEqual(await lookupGroup("video", options()), {
      name: "video",
      gid: 44,
      members: ["pilot", "other"],
    });
    assert.equal((await lookupGroup("2001", options()))?.name, "robots");
    assert.equal(await lookupGroup("nogroup", options()), undefined);
  });

  it("takes supplementary groups from the member lists (skipping malformed lines)", async () => {
    assert.deepEqual(await supplementaryGroupIds("pilot", options()), [44, 29]);
    assert.deepEqual(await supplementaryGroupIds("root", options()), []);
  });

  it("rejects a malformed entry, and a missing file, with a PlatformError", async () => {
    await assert.rejects(
      lookupGroup("broken", options()),
      (e: unknown) => e instanceof PlatformError && e.code === "invalid-entry",
    );
    await assert.rejects(
      lookupUser("pilot", { getent: "/nonexistent/getent", etcDir: join(etc, "none") }),
      (e: unknown) =>
        e instanceof PlatformError && e.code === "lookup-failed" && /cannot read/.test(e.message),
    );
  });
});

describe("a getent that fails", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "platform-getent-"));
    await writeFile(
      join(dir, "getent"),
      '#!/bin/sh\nif [ "$2" = missing ]; then exit 2; fi\nexit 1\n',
    );
    await chmod(join(dir, "getent"), 0o755);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("exit 2 is not found; any other failure is lookup-failed", async () => {
    const options = { getent: join(dir, "getent") };
    assert.equal(await lookupUser("missing", options), undefined);
    await assert.rejects(
      lookupUser("root", options),
      (e: unknown) => e instanceof PlatformError && e.code === "lookup-failed",
    );
  });
});
