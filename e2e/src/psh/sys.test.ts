/**
 * `psh sys setup/enable/up/debug/down/disable/teardown` against a real systemd (the e2e sandbox),
 * on a copy of `e2e/fixtures/psh-repo` owned by a non-root user `pilot` whose primary group is
 * `robots`. psh runs as root with SUDO_USER=pilot, as under `sudo psh sys ...`.
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ExecResult, type Sandbox, sandboxSupport } from "../harness/systemd-sandbox.js";
import {
  allUnits,
  dockerLog,
  moduleUnits,
  pshArgv,
  pshEnv,
  repo,
  sandboxShell,
  startPshSandbox,
  unitDir,
  until,
} from "./psh-sandbox.js";

const support = sandboxSupport();
const skip = support.ok ? false : `systemd sandbox unavailable: ${support.reason}`;

describe("psh sys in a real systemd", { skip }, () => {
  let sb: Sandbox;
  let sh: (script: string) => Promise<ExecResult>;
  let ok: (script: string) => Promise<string>;
  let show: (unit: string, property: string) => Promise<string>;

  /** Run psh inside the sandbox from `cwd`, as root under "sudo" by pilot. */
  async function psh(args: readonly string[], cwd?: string): Promise<ExecResult> {
    return sb.exec(pshArgv(args, cwd), {
      env: { SUDO_USER: "pilot", ...pshEnv },
      timeoutMs: 60_000,
    });
  }

  before(async () => {
    sb = await startPshSandbox("psh-sys");
    ({ sh, ok, show } = sandboxShell(sb));
  });

  after(async () => {
    await sb?.stop();
  });

  it("setup writes the enabled units, as pilot and its primary group, verified by systemd", async () => {
    const r = await psh(["setup"]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /4 succeeded, 0 failed/);
    const files = (await ok(`ls ${unitDir} | grep '^psh-' || true`)).trim().split("\n").sort();
    assert.deepEqual(files, [...allUnits].sort(), "gps has launch.enabled = false");
    for (const unit of allUnits) {
      assert.equal(await show(unit, "User"), "pilot");
      assert.equal(await show(unit, "Group"), "robots");
      assert.equal(await show(unit, "LoadState"), "loaded");
    }
    assert.equal(
      await show("psh-module-pilot.service", "WorkingDirectory"),
      `${repo}/modules/pilot`,
    );
    const tts = await ok(`cat ${unitDir}/psh-service-tts.service`);
    const compose = `/opt/psh-e2e/bin/docker compose -f ${repo}/services/tts/docker-compose.yml -p psyched-tts`;
    assert.ok(tts.includes(`\nExecStart=${compose} up -d\n`), tts);
    assert.ok(tts.includes(`\nExecStop=${compose} down\n`), tts);
    assert.match(tts, /^Requires=docker\.service$/m);
    assert.match(tts, /^Type=oneshot$/m);
    assert.match(tts, /^RemainAfterExit=yes$/m);
    const verify = await sb.exec([
      "systemd-analyze",
      "verify",
      ...allUnits.map((u) => `${unitDir}/${u}`),
    ]);
    assert.equal(`${verify.stdout}${verify.stderr}`, "");
    assert.equal(verify.code, 0);

    // Nothing changed: nothing is rewritten.
    const before = await ok(`stat -c %Y.%i ${unitDir}/psh-module-pilot.service`);
    const again = await psh(["setup"]);
    assert.equal(again.code, 0, again.stderr);
    for (const unit of allUnits) assert.match(again.stdout, new RegExp(`${unit}: unchanged`));
    assert.equal(await ok(`stat -c %Y.%i ${unitDir}/psh-module-pilot.service`), before);
  });

  it("enable makes every unit start at boot", async () => {
    const r = await psh(["enable"]);
    assert.equal(r.code, 0, r.stderr);
    for (const unit of allUnits) {
      assert.equal((await sh(`systemctl is-enabled ${unit}`)).stdout.trim(), "enabled");
      await ok(`test -L ${unitDir}/multi-user.target.wants/${unit}`);
    }
  });

  it("up runs modules as pilot in their dir with their env, restarts failures, composes the service", async () => {
    const r = await psh(["up"]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    await until("pilot.txt", async () => (await sh(`test -s ${repo}/run/pilot.txt`)).code === 0);
    const pilot = await ok(`cat ${repo}/run/pilot.txt`);
    assert.match(pilot, /^user=pilot$/m);
    assert.match(pilot, /^group=robots$/m);
    assert.match(pilot, new RegExp(`^pwd=${repo}/modules/pilot$`, "m"));
    assert.match(pilot, new RegExp(`^env:PSYCHED_REPO_ROOT=${repo}$`, "m"));
    assert.match(pilot, /^env:ROS_DOMAIN_ID=23$/m);
    assert.match(pilot, /^env:ROVER_SITE=lab$/m);
    assert.ok(pilot.includes('\nenv:PILOT_MSG=hello world 100% $HOME "quoted"\n'), pilot);
    assert.equal(await show("psh-module-pilot.service", "ActiveState"), "active");
    const mainPid = await show("psh-module-pilot.service", "MainPID");
    assert.equal((await ok(`ps -o user= -p ${mainPid}`)).trim(), "pilot");

    await until("ear.txt", async () => (await sh(`test -s ${repo}/run/ear.txt`)).code === 0);
    const ear = await ok(`cat ${repo}/run/ear.txt`);
    assert.equal(ear, `user=pilot\npwd=${repo}/modules/ear\nbackend=service\n`);

    // NRestarts counts a restart when systemd forks it, before the script writes its line: wait
    // for both the counter and the script's own record of three starts.
    const crashyStarts = async (): Promise<number> =>
      (await sh(`cat ${repo}/run/crashy.count`)).stdout.trim().split("\n").filter(Boolean).length;
    await until(
      "crashy restarted twice",
      async () =>
        Number(await show("psh-module-crashy.service", "NRestarts")) >= 2 &&
        (await crashyStarts()) >= 3,
    );

    assert.equal(await show("psh-service-tts.service", "ActiveState"), "active");
    const calls = await ok(`cat ${dockerLog}`);
    assert.equal(
      calls,
      `pilot:robots ${repo}/services/tts TTS_VOICE=en_US TTS_USE_CUDA=false compose -f ${repo}/services/tts/docker-compose.yml -p psyched-tts up -d\n`,
    );
  });

  it("debug shows each unit's status and journal", async () => {
    const r = await psh(["debug", "pilot"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /=== psh-module-pilot\.service \(module pilot\) =+/);
    assert.match(r.stdout, /\$ systemctl status psh-module-pilot\.service --no-pager/);
    assert.match(r.stdout, /Active: active \(running\)/);
    assert.match(r.stdout, /\$ journalctl -u psh-module-pilot\.service -n 50 --no-pager/);
    assert.match(r.stdout, /pilot starting as pilot/);
  });

  it("down stops the units, running the shutdown script and compose down", async () => {
    const r = await psh(["down"]);
    assert.equal(r.code, 0, r.stderr);
    for (const unit of allUnits) {
      assert.notEqual(await show(unit, "ActiveState"), "active", unit);
    }
    assert.equal(await ok(`cat ${repo}/run/pilot.shutdown`), "stopped by pilot\n");
    assert.match(await ok(`cat ${dockerLog}`), / -p psyched-tts down\n$/);
    assert.equal((await sh("pgrep -u pilot")).code, 1, "no process of pilot is left");
  });

  it("disable removes the boot links", async () => {
    const r = await psh(["disable", "--module"]);
    assert.equal(r.code, 0, r.stderr);
    for (const unit of moduleUnits) {
      assert.equal((await sh(`systemctl is-enabled ${unit}`)).stdout.trim(), "disabled");
    }
    assert.equal(
      (await sh("systemctl is-enabled psh-service-tts.service")).stdout.trim(),
      "enabled",
    );
  });

  it("teardown stops, disables and removes running, enabled units", async () => {
    const up = await psh(["enable", "pilot"]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal((await psh(["up", "pilot"])).code, 0);
    await until(
      "pilot active",
      async () => (await show("psh-module-pilot.service", "ActiveState")) === "active",
    );

    const r = await psh(["teardown"]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /4 succeeded, 0 failed/);
    assert.equal((await ok(`ls ${unitDir} | grep '^psh-' || true`)).trim(), "");
    assert.equal(
      (await ok(`find ${unitDir} -name 'psh-*' | wc -l`)).trim(),
      "0",
      "no .wants/ link left",
    );
    assert.equal((await sh("pgrep -u pilot")).code, 1, "no process of pilot is left");
    for (const unit of allUnits) assert.equal(await show(unit, "LoadState"), "not-found");
  });
});
