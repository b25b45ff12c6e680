import * as assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  repoRoot,
  type Sandbox,
  sandboxCgroupPath,
  sandboxSupport,
  startSandbox,
} from "./systemd-sandbox.js";

const support = sandboxSupport();
const skip = support.ok ? false : `systemd sandbox unavailable: ${support.reason}`;

describe("systemd sandbox", { skip }, () => {
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox("harness");
  });
  after(async () => {
    await sb?.stop();
  });

  it("runs a real systemd as PID 1", async () => {
    const v = await sb.exec(["systemctl", "--version"]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /^systemd \d+/);
    const comm = await sb.exec(["cat", "/proc/1/comm"]);
    assert.equal(comm.stdout.trim(), "systemd");
    const state = await sb.exec(["systemctl", "is-system-running"]);
    assert.match(state.stdout, /running|degraded/);
  });

  it("sees the repo at the same path and isolates writes", async () => {
    const r = await sb.exec(["test", "-f", join(repoRoot, "package.json")]);
    assert.equal(r.code, 0);
    await sb.writeFile("/etc/procmgr-sandbox-probe", "hello\n", 0o600);
    const cat = await sb.exec(["stat", "-c", "%a %s", "/etc/procmgr-sandbox-probe"]);
    assert.equal(cat.stdout.trim(), "600 6");
    assert.equal(existsSync("/etc/procmgr-sandbox-probe"), false);
  });

  it("copies host files in and passes stdin and env", async () => {
    await sb.copyIn(join(repoRoot, "package.json"), "/opt/x/package.json", 0o640);
    const r = await sb.exec(["sh", "-c", 'stat -c %a /opt/x/package.json && echo "$FOO" && cat'], {
      input: "from-stdin",
      env: { FOO: "bar" },
    });
    assert.equal(r.stdout, "640\nbar\nfrom-stdin");
  });

  it("runs a transient unit with systemd-run", async () => {
    const r = await sb.exec([
      "systemd-run",
      "--wait",
      "--collect",
      "--unit=sbx-probe",
      "-p",
      "Type=oneshot",
      "sh",
      "-c",
      "echo transient-ok",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const log = await sb.exec(["journalctl", "-u", "sbx-probe", "--no-pager", "-o", "cat"]);
    assert.match(log.stdout, /transient-ok/);
  });

  it("runs commands as another user with their user manager", async () => {
    assert.equal((await sb.exec(["useradd", "-m", "sbxuser"])).code, 0);
    const linger = await sb.exec(["loginctl", "enable-linger", "sbxuser"]);
    assert.equal(linger.code, 0, linger.stderr);
    const uid = (await sb.exec(["id", "-u", "sbxuser"])).stdout.trim();
    const up = await sb.exec(["systemctl", "start", `user@${uid}.service`]);
    assert.equal(up.code, 0, up.stderr);
    const r = await sb.execAs("sbxuser", ["sh", "-c", 'id -un; echo "$XDG_RUNTIME_DIR"']);
    assert.equal(r.stdout, `sbxuser\n/run/user/${uid}\n`);
    const sys = await sb.execAs("sbxuser", ["systemctl", "--user", "is-system-running"]);
    assert.match(sys.stdout, /running|degraded/, sys.stderr);
  });

  it("stops: no process, no cgroup left", async () => {
    const other = await startSandbox("harness-stop");
    const cg = sandboxCgroupPath(other);
    assert.ok(cg !== undefined);
    assert.ok(existsSync(cg));
    await other.exec(["systemd-run", "--unit=sleeper", "sleep", "1000"]);
    await other.stop();
    assert.equal(existsSync(cg), false);
    await assert.rejects(other.exec(["true"]), /stopped/);
  });
});
