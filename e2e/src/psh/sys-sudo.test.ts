/**
 * `psh sys` run as a non-root user through sudo, against a real systemd (the e2e sandbox) and the
 * real sudo: pilot (primary group robots) has the password-less sudoers line psh's error
 * suggests and drives every verb; intruder has no sudo rights; guarded's sudoers entry wants a
 * password, refused without a terminal and typed once on a real pseudo-terminal.
 */
import * as assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { shellJoin } from "@procmgr/platform";
import { type ExecResult, type Sandbox, sandboxSupport } from "../harness/systemd-sandbox.js";
import {
  allUnits,
  pshArgv,
  pshEnv,
  repo,
  sandboxShell,
  startPshSandbox,
  unitDir,
  until,
} from "./psh-sandbox.js";

const answerSudo = fileURLToPath(new URL("../../fixtures/answer-sudo.mjs", import.meta.url));
const tools = "/usr/bin/systemctl, /usr/bin/journalctl, /usr/bin/install, /usr/bin/rm";
const sudoers = `pilot ALL=(root) NOPASSWD: ${tools}\nguarded ALL=(ALL:ALL) ALL\n`;

const support = sandboxSupport();
const skip = !support.ok
  ? `systemd sandbox unavailable: ${support.reason}`
  : !existsSync("/usr/bin/sudo")
    ? "sudo is not installed (apt-get install sudo)"
    : false;

describe("psh sys as a non-root user, through the real sudo", { skip, timeout: 300_000 }, () => {
  let sb: Sandbox;
  let sh: (script: string) => Promise<ExecResult>;
  let ok: (script: string) => Promise<string>;
  let show: (unit: string, property: string) => Promise<string>;
  let pshFiles: () => Promise<string[]>;

  /** Run psh as `user` (no terminal), from inside the repo. */
  async function psh(user: string, args: readonly string[]): Promise<ExecResult> {
    return sb.execAs(user, pshArgv(args), { env: pshEnv, timeoutMs: 60_000 });
  }

  /** Run psh commands one after another (`&&`) as `user` on one new terminal, typing the password. */
  async function onTerminal(
    user: string,
    runs: readonly (readonly string[])[],
  ): Promise<ExecResult> {
    const script = runs.map((args) => shellJoin(pshArgv(args))).join(" && ");
    return sb.execAs(user, ["node", answerSudo, "s3cret-pw", script], {
      env: pshEnv,
      timeoutMs: 120_000,
    });
  }

  before(async () => {
    sb = await startPshSandbox("psh-sudo");
    ({ sh, ok, show, pshFiles } = sandboxShell(sb));
    await ok(
      [
        "useradd -m -s /bin/bash intruder",
        "useradd -m -s /bin/bash guarded",
        "echo guarded:s3cret-pw | chpasswd",
      ].join(" && "),
    );
    await sb.writeFile("/etc/sudoers.d/psh-test", sudoers, 0o440);
    await ok("visudo -c -f /etc/sudoers.d/psh-test");
  });

  after(async () => {
    await sb?.stop();
  });

  it("a user without sudo rights gets the clear error, exit 1, and nothing is written", async () => {
    for (const verb of ["setup", "up", "teardown"]) {
      const r = await psh("intruder", [verb]);
      assert.equal(r.code, 1, `${verb}: ${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^psh sys ${verb}: root is needed `, "m"));
      assert.match(
        r.stderr,
        /intruder cannot get it through sudo here \(sudo -n -l \S+: sudo: a password is required\)/,
      );
      assert.ok(
        r.stderr.includes(
          `give intruder sudo rights, e.g. the line \`intruder ALL=(root) NOPASSWD: ${tools}\``,
        ),
        r.stderr,
      );
      assert.match(r.stderr, /or run it on a terminal to type the password\.$/m);
      assert.equal(r.stdout, "");
    }
    assert.deepEqual(await pshFiles(), []);
  });

  it("a sudoers entry with a password and no terminal: the clear error at once, no hang", async () => {
    const started = Date.now();
    const r = await sb.execAs("guarded", pshArgv(["setup", "ear"]), {
      env: pshEnv,
      input: "s3cret-pw\n",
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(
      r.stderr,
      /guarded cannot get it through sudo here \(sudo -n -l install: sudo: a password is required\)/,
    );
    assert.doesNotMatch(r.stderr, /\[sudo\] password/);
    assert.ok(Date.now() - started < 20_000, "answered well before any timeout");
    assert.deepEqual(await pshFiles(), []);
  });

  it("setup (twice) writes root-owned units that run as pilot:robots; the second writes nothing", async () => {
    const r = await psh("pilot", ["setup"]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /4 succeeded, 0 failed/);
    assert.deepEqual(await pshFiles(), [...allUnits].sort());
    for (const unit of allUnits) {
      assert.equal(await show(unit, "User"), "pilot");
      assert.equal(await show(unit, "Group"), "robots");
      assert.equal(await show(unit, "LoadState"), "loaded");
      assert.equal((await ok(`stat -c '%U:%G %a' ${unitDir}/${unit}`)).trim(), "root:root 644");
    }
    const before = await ok(`stat -c %Y.%i ${unitDir}/psh-module-pilot.service`);
    const again = await psh("pilot", ["setup"]);
    assert.equal(again.code, 0, again.stderr);
    for (const unit of allUnits) assert.match(again.stdout, new RegExp(`${unit}: unchanged`));
    assert.equal(await ok(`stat -c %Y.%i ${unitDir}/psh-module-pilot.service`), before);
  });

  it("enable and up, then debug reads status and journal through sudo", async () => {
    assert.equal((await psh("pilot", ["enable"])).code, 0);
    for (const unit of allUnits) {
      assert.equal((await sh(`systemctl is-enabled ${unit}`)).stdout.trim(), "enabled");
    }
    const up = await psh("pilot", ["up", "pilot", "ear"]);
    assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
    for (const unit of ["psh-module-pilot.service", "psh-module-ear.service"]) {
      await until(
        `${unit} active`,
        async () => (await sh(`systemctl is-active ${unit}`)).stdout.trim() === "active",
      );
    }
    const mainPid = await show("psh-module-pilot.service", "MainPID");
    assert.equal(
      (await ok(`ps -o user=,group= -p ${mainPid}`)).trim().replace(/\s+/g, " "),
      "pilot robots",
    );
    await until("pilot's journal line", async () =>
      (await sh("journalctl -u psh-module-pilot.service")).stdout.includes(
        "pilot starting as pilot",
      ),
    );

    const r = await psh("pilot", ["debug", "pilot"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\$ sudo -n -- systemctl status psh-module-pilot\.service --no-pager/);
    assert.match(r.stdout, /Active: active \(running\)/);
    assert.match(
      r.stdout,
      /\$ sudo -n -- journalctl -u psh-module-pilot\.service -n 50 --no-pager/,
    );
    assert.match(r.stdout, /pilot starting as pilot/, "the system journal, read as root");
  });

  it("down, disable and teardown leave nothing behind", async () => {
    assert.equal((await psh("pilot", ["down"])).code, 0);
    for (const unit of allUnits) {
      assert.notEqual((await sh(`systemctl is-active ${unit}`)).stdout.trim(), "active", unit);
    }
    assert.equal((await psh("pilot", ["disable"])).code, 0);
    for (const unit of allUnits) {
      assert.equal((await sh(`systemctl is-enabled ${unit}`)).stdout.trim(), "disabled");
    }
    // Enabled and running again, so that teardown has to stop and disable first.
    assert.equal((await psh("pilot", ["enable", "pilot"])).code, 0);
    assert.equal((await psh("pilot", ["up", "pilot"])).code, 0);
    const r = await psh("pilot", ["teardown"]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /4 succeeded, 0 failed/);
    assert.deepEqual(await pshFiles(), [], "no unit file and no .wants/ link left");
    for (const unit of allUnits) assert.equal(await show(unit, "LoadState"), "not-found");
    assert.equal((await sh("pgrep -u pilot")).code, 1, "no process of pilot is left");
  });

  it("on a terminal, sudo asks the password once; later runs on that terminal reuse it", async () => {
    const r = await onTerminal("guarded", [
      ["setup", "ear"],
      ["enable", "ear"],
      ["debug", "ear"],
    ]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(r.stdout.match(/\[sudo\] password for guarded:/g)?.length, 1, r.stdout);
    assert.match(
      r.stdout,
      /psh sys: root is needed to write unit files and run systemctl: sudo may ask for guarded's password \(once\)\./,
    );
    assert.match(r.stdout, /psh sys setup: 1 succeeded, 0 failed/);
    assert.match(r.stdout, /psh sys enable: 1 succeeded, 0 failed/);
    assert.match(r.stdout, /\$ sudo -n -- journalctl -u psh-module-ear\.service/);
    assert.equal(await show("psh-module-ear.service", "User"), "guarded");
    assert.equal(await show("psh-module-ear.service", "Group"), "guarded");
    assert.equal(await show("psh-module-ear.service", "WorkingDirectory"), `${repo}/modules/ear`);
    assert.equal(
      (await sh("systemctl is-enabled psh-module-ear.service")).stdout.trim(),
      "enabled",
    );
  });

  it("on a new terminal, teardown asks once more and removes everything", async () => {
    const r = await onTerminal("guarded", [["teardown", "ear"]]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(r.stdout.match(/\[sudo\] password for guarded:/g)?.length, 1, r.stdout);
    assert.match(r.stdout, /psh sys teardown: 1 succeeded, 0 failed/);
    assert.deepEqual(await pshFiles(), []);
  });
});
