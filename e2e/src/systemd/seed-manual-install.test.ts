/**
 * The installation guide's "System Service (Root)" steps, typed as written, from the repo root
 * after `pnpm build` (target/release/{daemon,cli}, processes.yaml, systemd/*.service), in a real
 * systemd sandbox; then its "Verify Installation" and management commands.
 */
import * as assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Sandbox, sandboxSupport, startSandbox } from "../harness/systemd-sandbox.js";
import { repoRoot, show, until } from "./install-fixture.js";

const release = ["daemon", "cli"].map((n) => join(repoRoot, "target", "release", n));
const support = sandboxSupport();
const skip = !support.ok
  ? `systemd sandbox unavailable: ${support.reason}`
  : release.every(existsSync)
    ? false
    : `not built: ${release.join(", ")} (run pnpm build)`;

/** The guide's commands (sudo dropped: the sandbox shell is root), run from the repo root. */
const installSteps = [
  "install -m 755 target/release/daemon /usr/bin/dd-procmgrd",
  "install -m 755 target/release/cli /usr/bin/dd-procmgr-cli",
  "mkdir -p /etc/dd-procmgrd",
  "mkdir -p /var/lib/dd-procmgrd",
  "mkdir -p /var/log/dd-procmgrd",
  "mkdir -p /run/dd-procmgrd",
  "chmod 755 /var/lib/dd-procmgrd",
  "chmod 755 /var/log/dd-procmgrd",
  "chmod 700 /etc/dd-procmgrd",
  "cp processes.yaml /etc/dd-procmgrd/processes.yaml",
  "chmod 644 /etc/dd-procmgrd/processes.yaml",
  "cp systemd/dd-procmgrd.service /etc/systemd/system/",
  "systemctl daemon-reload",
  "systemctl enable dd-procmgrd",
  "systemctl start dd-procmgrd",
];

describe("the guide's manual root install, as written (real systemd)", {
  skip,
  timeout: 120_000,
}, () => {
  let sb: Sandbox;
  const sh = (script: string) => sb.exec(["bash", "-c", `cd '${repoRoot}' && ${script}`]);

  before(async () => {
    sb = await startSandbox("seed-manual");
  });
  after(async () => {
    await sb?.stop();
  });

  it("installs with the guide's commands and the service runs", async () => {
    for (const step of installSteps) {
      const r = await sh(step);
      assert.equal(r.code, 0, `${step}\n${show(r)}`);
    }
    const status = await sh("systemctl status dd-procmgrd --no-pager");
    assert.equal(status.code, 0, show(status));
    const verify = await sh("systemd-analyze verify /etc/systemd/system/dd-procmgrd.service");
    assert.equal(verify.code, 0, show(verify));
    assert.equal(verify.stderr.trim(), "", show(verify));
  });

  it("answers the CLI: the guide's verify sequence", async () => {
    // The guide installs the CLI as dd-procmgr-cli and then calls it pm-cli: the same program.
    assert.equal((await sh("ln -sf dd-procmgr-cli /usr/bin/pm-cli")).code, 0);
    await until(
      "pm-cli list to answer",
      () => sh("pm-cli list"),
      (r) => r.code === 0,
    );
    const created = await sh("pm-cli create test sleep 10 --auto-start");
    assert.equal(created.code, 0, show(created));
    const list = await sh("pm-cli list");
    assert.match(list.stdout, /^test\s.*\brunning\b/m, show(list));
    for (const cmd of ["pm-cli describe test", "pm-cli stop test", "pm-cli start test"]) {
      const r = await sh(cmd);
      assert.equal(r.code, 0, `${cmd}\n${show(r)}`);
    }
    const deleted = await sh("pm-cli delete test --force");
    assert.equal(deleted.code, 0, show(deleted));
  });

  it("logs to the journal with the bind address, and reloads", async () => {
    const grep = await sh(`journalctl -u dd-procmgrd | grep "Starting Process Manager"`);
    assert.match(grep.stdout, /addr=127\.0\.0\.1:50051/, show(grep));
    for (const cmd of [
      "systemctl reload dd-procmgrd",
      "pm-cli reload-config",
      "systemctl is-active dd-procmgrd",
      "systemctl is-enabled dd-procmgrd",
      "systemctl restart dd-procmgrd",
    ]) {
      const r = await sh(cmd);
      assert.equal(r.code, 0, `${cmd}\n${show(r)}`);
    }
    await until(
      "pm-cli list after restart",
      () => sh("pm-cli list"),
      (r) => r.code === 0,
    );
    const stop = await sh("systemctl stop dd-procmgrd");
    assert.equal(stop.code, 0, show(stop));
  });
});
