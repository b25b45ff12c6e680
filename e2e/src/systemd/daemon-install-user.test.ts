/**
 * The seed guide's user service: `daemon install --variant user` as a non-root user with a
 * lingering systemd user manager, `systemctl --user`, `pm-cli list` as that user, reload, stop,
 * uninstall.
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Sandbox, sandboxSupport, startSandbox } from "../harness/systemd-sandbox.js";
import {
  executableArgs,
  missingPieces,
  pidOf,
  repoCli,
  show,
  sleeperConfig,
  until,
} from "./install-fixture.js";

const support = sandboxSupport();
const skip = !support.ok
  ? `systemd sandbox unavailable: ${support.reason}`
  : (missingPieces() ?? false);
const USER = "alice";
const HOME = `/home/${USER}`;

describe("daemon install --variant user (real systemd, systemctl --user)", {
  skip,
  timeout: 120_000,
}, () => {
  let sb: Sandbox;
  let exeArgs: string[] = [];
  let uid = "";
  const asUser = (argv: string[], timeoutMs = 60_000) => sb.execAs(USER, argv, { timeoutMs });
  const list = () => asUser([`${HOME}/.local/bin/pm-cli`, "list"]);

  before(async () => {
    sb = await startSandbox("install-user");
    exeArgs = await executableArgs(sb);
    const add = await sb.exec(["useradd", "-m", "-s", "/bin/bash", USER]);
    assert.equal(add.code, 0, show(add));
    uid = (await sb.exec(["id", "-u", USER])).stdout.trim();
    const linger = await sb.exec(["loginctl", "enable-linger", USER]);
    assert.equal(linger.code, 0, show(linger));
    // enable-linger starts user@UID.service; starting it again waits until it is up
    const up = await sb.exec(["systemctl", "start", `user@${uid}.service`]);
    assert.equal(up.code, 0, show(up));
  });
  after(async () => {
    await sb?.stop();
  });

  it("installs without root into ~/.local/bin and the XDG dirs, starts, answers", async () => {
    const r = await asUser([...repoCli, "daemon", "install", "--variant", "user", ...exeArgs]);
    assert.equal(r.code, 0, show(r));
    assert.doesNotMatch(r.stdout, /sudo/);
    const active = await asUser(["systemctl", "--user", "is-active", "dd-procmgrd"]);
    assert.equal(active.stdout.trim(), "active", show(active));
    const files = await sb.exec([
      "stat",
      "-c",
      "%n %U",
      `${HOME}/.local/bin/dd-procmgrd`,
      `${HOME}/.local/bin/pm-cli`,
      `${HOME}/.config/systemd/user/dd-procmgrd.service`,
      `${HOME}/.config/dd-procmgrd/processes.yaml`,
      `${HOME}/.local/share/dd-procmgrd/logs`,
    ]);
    assert.equal(files.code, 0, show(files));
    for (const line of files.stdout.trim().split("\n")) assert.match(line, new RegExp(` ${USER}$`));
    const pid = (
      await asUser(["systemctl", "--user", "show", "-p", "MainPID", "--value", "dd-procmgrd"])
    ).stdout.trim();
    assert.equal((await sb.exec(["ps", "-o", "user:32=", "-p", pid])).stdout.trim(), USER);
    await until("pm-cli list to answer", list, (x) => x.code === 0);
  });

  it("a system variant as a non-root user needs root (sudo), said clearly", async () => {
    const r = await asUser([...repoCli, "daemon", "install", "--variant", "standard", "--dry-run"]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^\+ sudo install -m 0755 /m);
    const sudo = await sb.exec(["sh", "-c", "command -v sudo"]);
    if (sudo.code !== 0) {
      const real = await asUser([...repoCli, "daemon", "install", "--variant", "standard"]);
      assert.equal(real.code, 4, show(real));
      assert.match(real.stderr, /needs root/);
    }
  });

  it("re-running install changes nothing", async () => {
    const r = await asUser([...repoCli, "daemon", "install", "--variant", "user", ...exeArgs]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, / 0 changed/, show(r));
  });

  it("journalctl --user -u dd-procmgrd shows the start line", async () => {
    const r = await asUser(["journalctl", "--user", "-u", "dd-procmgrd", "--no-pager"]);
    assert.match(r.stdout, /Starting Process Manager/, show(r));
    assert.match(r.stdout, /addr=127\.0\.0\.1:50051/, show(r));
  });

  it("delegates its cgroup: the daemon can make cgroups under its own", async () => {
    const prop = async (p: string) =>
      (
        await asUser(["systemctl", "--user", "show", "-p", p, "--value", "dd-procmgrd"])
      ).stdout.trim();
    assert.equal(await prop("Delegate"), "yes");
    const cg = `/sys/fs/cgroup${await prop("ControlGroup")}`;
    const r = await asUser(["sh", "-c", `mkdir "${cg}/e2e-probe" && rmdir "${cg}/e2e-probe"`]);
    assert.equal(r.code, 0, show(r));
  });

  it("systemctl --user reload applies a changed processes.yaml", async () => {
    await sb.writeFile(
      `${HOME}/.config/dd-procmgrd/processes.yaml`,
      sleeperConfig("sleeper", 4343),
    );
    const r = await asUser(["systemctl", "--user", "reload", "dd-procmgrd"]);
    assert.equal(r.code, 0, show(r));
    await until("sleeper to run", list, (x) => /sleeper\b.*running/.test(x.stdout));
  });

  it("systemctl --user stop leaves no managed process behind", async () => {
    const child = await pidOf(sb, "/bin/sleep 4343");
    assert.ok(child !== undefined, "the managed process runs before the stop");
    const r = await asUser(["systemctl", "--user", "stop", "dd-procmgrd"], 150_000);
    assert.equal(r.code, 0, show(r));
    assert.notEqual(
      (await sb.exec(["test", "-e", `/proc/${child}`])).code,
      0,
      `managed process ${child} survived`,
    );
  });

  it("daemon uninstall as the user removes unit and executables", async () => {
    const r = await asUser([...repoCli, "daemon", "uninstall", "--variant", "user"]);
    assert.equal(r.code, 0, show(r));
    for (const p of [
      `${HOME}/.config/systemd/user/dd-procmgrd.service`,
      `${HOME}/.local/bin/dd-procmgrd`,
      `${HOME}/.local/bin/pm-cli`,
    ]) {
      assert.notEqual((await sb.exec(["test", "-e", p])).code, 0, `${p} still exists`);
    }
    assert.equal(
      (await sb.exec(["test", "-f", `${HOME}/.config/dd-procmgrd/processes.yaml`])).code,
      0,
    );
  });
});
