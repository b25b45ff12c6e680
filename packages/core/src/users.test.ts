import * as assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fixture, tempDir, testConfig, waitState } from "./harness.js";
import { Supervisor } from "./supervisor.js";

const isRoot = process.getuid?.() === 0;
const testUser = "pmcore-test-user";
const testGroup = "pmcore-test-grp";

function exists(db: string, key: string): boolean {
  try {
    execFileSync("getent", [db, key], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("users and groups", { skip: isRoot ? false : "needs root" }, () => {
  const root = tempDir("procmgr-users-");
  chmodSync(root, 0o755);
  const sup = new Supervisor({ stateDir: join(root, "state") });
  let createdUser = false;
  let createdGroup = false;

  before(() => {
    if (!exists("group", testGroup)) {
      execFileSync("groupadd", [testGroup]);
      createdGroup = true;
    }
    if (!exists("passwd", testUser)) {
      execFileSync("useradd", [
        "-M",
        "-d",
        "/nonexistent",
        "-s",
        "/bin/sh",
        "-G",
        testGroup,
        testUser,
      ]);
      createdUser = true;
    }
  });

  after(async () => {
    await sup.shutdown();
    if (createdUser) execFileSync("userdel", [testUser]);
    if (createdGroup && exists("group", testGroup)) execFileSync("groupdel", [testGroup]);
  });

  it("the seed's bash -c 'whoami' as nobody writes nobody to its stdout file, owned by nobody", async () => {
    const out = join(root, "test-cap.log");
    await sup.create(
      testConfig("test-cap", ["bash", "-c", "whoami"], {
        user: "nobody",
        stdout: { kind: "file", path: out },
      }),
    );
    const done = waitState(sup, "test-cap", "exited", "failed");
    await sup.start("test-cap");
    assert.equal((await done).state, "exited");
    assert.equal(readFileSync(out, "utf8"), "nobody\n");
    const st = statSync(out);
    const nobody = execFileSync("getent", ["passwd", "nobody"], { encoding: "utf8" }).split(":");
    assert.equal(st.uid, Number(nobody[2]));
    assert.equal(st.gid, Number(nobody[3]));
    assert.equal(st.mode & 0o777, 0o640);
  });

  it("switches to the user's primary group and supplementary groups, HOME/USER of the user, no capabilities", async () => {
    await sup.create(testConfig("ids", ["sh", fixture("env-dump.sh")], { user: testUser }));
    const done = waitState(sup, "ids", "exited", "failed");
    await sup.start("ids");
    const info = await done;
    assert.equal(info.state, "exited");
    const out = readFileSync(info.stdoutPath ?? "", "utf8");
    const expected = execFileSync("id", ["-G", testUser], { encoding: "utf8" }).trim().split(" ");
    const uid = execFileSync("id", ["-u", testUser], { encoding: "utf8" }).trim();
    const gid = execFileSync("id", ["-g", testUser], { encoding: "utf8" }).trim();
    const m = /^ID=(\d+):(\d+):(.*)$/m.exec(out);
    assert.ok(m, out);
    assert.equal(m[1], uid);
    assert.equal(m[2], gid);
    assert.deepEqual(m[3]?.split(" ").sort(), expected.sort());
    const grp = execFileSync("getent", ["group", testGroup], { encoding: "utf8" }).split(":")[2];
    assert.ok(m[3]?.split(" ").includes(grp ?? "?"));
    assert.match(out, new RegExp(`^USER=${testUser}$`, "m"));
    assert.match(out, new RegExp(`^LOGNAME=${testUser}$`, "m"));
    assert.match(out, /^HOME=\/nonexistent$/m);
    assert.match(out, /^SHELL=\/bin\/sh$/m);
    assert.match(out, /^CapEff:\s*0+$/m);
    assert.match(out, /^CapAmb:\s*0+$/m);
    // The default log files the daemon created belong to the user.
    assert.equal(statSync(info.stdoutPath ?? "").uid, Number(uid));
  });

  it("group overrides the primary group; ambient_capabilities raises exactly those", async () => {
    await sup.create(
      testConfig("grp", ["sh", fixture("env-dump.sh")], {
        user: testUser,
        group: "nogroup",
        ambientCapabilities: ["CAP_NET_BIND_SERVICE"],
      }),
    );
    const done = waitState(sup, "grp", "exited", "failed");
    await sup.start("grp");
    const info = await done;
    assert.equal(info.state, "exited");
    const out = readFileSync(info.stdoutPath ?? "", "utf8");
    const nogroup = execFileSync("getent", ["group", "nogroup"], { encoding: "utf8" }).split(
      ":",
    )[2];
    const m = /^ID=(\d+):(\d+):(.*)$/m.exec(out);
    assert.equal(m?.[2], nogroup);
    // CAP_NET_BIND_SERVICE is bit 10.
    assert.match(out, /^CapAmb:\s*0*400$/m);
    assert.match(out, /^CapEff:\s*0*400$/m);
  });

  it("a non-root daemon holding CAP_SETUID/SETGID/KILL/CHOWN switches users and passes no capabilities on", async () => {
    const dir = join(root, "capdaemon");
    mkdirSync(dir, { mode: 0o777 });
    chmodSync(dir, 0o777);
    const child = spawn(
      "setpriv",
      [
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "--inh-caps=+setuid,+setgid,+kill,+chown",
        "--ambient-caps=+setuid,+setgid,+kill,+chown",
        "--",
        process.execPath,
        fixture("cap-daemon.mjs"),
        dir,
        testUser,
        fixture("env-dump.sh"),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let text = "";
    child.stdout.on("data", (c: Buffer) => {
      text += c.toString();
    });
    const code = await new Promise<number | null>((r) => child.once("close", r));
    assert.equal(code, 0, text);
    const result = JSON.parse(text) as Record<string, string>;
    const uid = execFileSync("id", ["-u", testUser], { encoding: "utf8" }).trim();
    // As the test user, with its groups, without the daemon's capabilities.
    assert.match(result.switched ?? "", new RegExp(`^ID=${uid}:`, "m"));
    assert.match(result.switched ?? "", /^CapEff:\s*0+$/m);
    assert.match(result.switched ?? "", /^CapAmb:\s*0+$/m);
    // Without user: the daemon's own user, capabilities dropped.
    assert.match(result.plain ?? "", /^USER=nobody$/m);
    assert.match(result.plain ?? "", /^CapEff:\s*0+$/m);
    assert.match(result.plain ?? "", /^CapAmb:\s*0+$/m);
  });
});
