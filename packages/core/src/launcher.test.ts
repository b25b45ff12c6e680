import * as assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  fixture,
  supervisorFactory,
  tempDir,
  testConfig,
  waitOutput,
  waitState,
} from "./harness.js";
import { unmetCondition } from "./launcher.js";

const { root, newSupervisor } = supervisorFactory();

describe("launcher", () => {
  it("a command that does not exist fails with a spawn error", async () => {
    const sup = newSupervisor();
    await sup.create(testConfig("ghost", ["/nonexistent/bin/ghost"]));
    const info = await sup.start("ghost");
    assert.equal(info.state, "failed");
    assert.equal(info.failureReason, "command not found: /nonexistent/bin/ghost");
    assert.equal(info.lastExit?.spawnError, "command not found: /nonexistent/bin/ghost");
  });

  it("an unknown user fails the start with a reason naming the user", async () => {
    const sup = newSupervisor();
    await sup.create(testConfig("nouser", ["true"], { user: "no-such-user-pm" }));
    const info = await sup.start("nouser");
    assert.equal(info.state, "failed");
    assert.match(info.failureReason ?? "", /unknown user "no-such-user-pm"/);
  });

  it("env: clean base + environment_file + env, working_dir, RUNTIME_DIRECTORY", async () => {
    const sup = newSupervisor();
    const dir = tempDir();
    const envFile = join(dir, "app.env");
    writeFileSync(envFile, '# comment\nexport FROM_FILE=yes\nBOTH=file\nQUOTED="a b"\n');
    process.env.PM_CORE_SHOULD_NOT_LEAK = "1";
    await sup.create(
      testConfig("env", ["sh", fixture("env-dump.sh")], {
        workingDir: dir,
        environmentFile: { path: envFile, optional: false },
        env: { BOTH: "env", EXTRA: "x" },
        runtimeDirectory: ["pm-core-test-env"],
      }),
    );
    const exited = waitState(sup, "env", "exited", "failed");
    await sup.start("env");
    const info = await exited;
    delete process.env.PM_CORE_SHOULD_NOT_LEAK;
    assert.equal(info.state, "exited");
    const out = readFileSync(info.stdoutPath ?? "", "utf8");
    assert.match(
      out,
      /^PATH=\/usr\/local\/sbin:\/usr\/local\/bin:\/usr\/sbin:\/usr\/bin:\/sbin:\/bin$/m,
    );
    assert.match(out, /^FROM_FILE=yes$/m);
    assert.match(out, /^BOTH=env$/m);
    assert.match(out, /^QUOTED=a b$/m);
    assert.match(out, /^EXTRA=x$/m);
    assert.match(out, /^HOME=/m);
    assert.match(out, /^USER=/m);
    assert.doesNotMatch(out, /PM_CORE_SHOULD_NOT_LEAK/);
    assert.match(out, new RegExp(`^CWD=${dir}$`, "m"));
    assert.match(
      out,
      new RegExp(`^RUNTIME_DIRECTORY=${join(root, "run", "pm-core-test-env")}$`, "m"),
    );
    // Removed once the process is no longer running.
    assert.equal(existsSync(join(root, "run", "pm-core-test-env")), false);
  });

  it("a missing required environment_file fails, an optional one does not", async () => {
    const sup = newSupervisor();
    await sup.create(
      testConfig("envreq", ["true"], {
        environmentFile: { path: "/nonexistent/x.env", optional: false },
      }),
    );
    await sup.create(
      testConfig("envopt", ["true"], {
        environmentFile: { path: "/nonexistent/x.env", optional: true },
      }),
    );
    const req = await sup.start("envreq");
    assert.equal(req.state, "failed");
    assert.match(req.failureReason ?? "", /environment_file \/nonexistent\/x.env/);
    const opt = waitState(sup, "envopt", "exited", "failed");
    await sup.start("envopt");
    assert.equal((await opt).state, "exited");
  });

  it("condition_path_exists unmet: stays stopped with a reason, not failed", async () => {
    const sup = newSupervisor();
    const dir = tempDir();
    await sup.create(
      testConfig("cond", ["sleep", "1000"], {
        conditionPathExists: [{ path: join(dir, "flag"), negate: false, anyOf: false }],
      }),
    );
    const info = await sup.start("cond");
    assert.equal(info.state, "stopped");
    assert.equal(info.stateReason, `condition failed: condition_path_exists=${join(dir, "flag")}`);
    assert.equal(info.runCount, 0);
    writeFileSync(join(dir, "flag"), "");
    const again = await sup.start("cond");
    assert.equal(again.state, "running");
    await sup.stop("cond");
  });

  it("exec_start_pre must succeed; exec_start_post and exec_stop_post run", async () => {
    const sup = newSupervisor();
    const dir = tempDir();
    await sup.create(
      testConfig("hooks", ["sleep", "1000"], {
        env: { MARK: dir },
        execStartPre: [["sh", "-c", 'echo pre > "$MARK/pre"']],
        execStartPost: [["sh", "-c", 'echo post > "$MARK/post"; echo post-done']],
        execStopPost: [["sh", "-c", 'echo stoppost > "$MARK/stoppost"']],
      }),
    );
    const post = waitOutput(sup, "hooks", /post-done/);
    const info = await sup.start("hooks");
    assert.equal(info.state, "running");
    assert.equal(readFileSync(join(dir, "pre"), "utf8"), "pre\n");
    await post;
    assert.equal(readFileSync(join(dir, "post"), "utf8"), "post\n");
    await sup.stop("hooks");
    assert.equal(readFileSync(join(dir, "stoppost"), "utf8"), "stoppost\n");

    await sup.create(testConfig("prefail", ["sleep", "1000"], { execStartPre: [["false"]] }));
    const failed = await sup.start("prefail");
    assert.equal(failed.state, "failed");
    assert.equal(failed.failureReason, 'exec_start_pre "false" exited with code 1');
  });

  it("timeout_start_sec bounds exec_start_pre", async () => {
    const sup = newSupervisor();
    await sup.create(
      testConfig("slowpre", ["sleep", "1000"], {
        execStartPre: [["sleep", "1000"]],
        timeoutStartSec: 0.2,
      }),
    );
    const info = await sup.start("slowpre");
    assert.equal(info.state, "failed");
    assert.match(info.failureReason ?? "", /exec_start_pre "sleep 1000" timed out/);
  });
});

describe("unmetCondition", () => {
  const dir = tempDir("procmgr-condition-");
  const present = join(dir, "present");
  writeFileSync(present, "");
  const absent = join(dir, "absent");

  it("every plain condition must hold; the first unmet one is described", () => {
    assert.equal(unmetCondition([]), undefined);
    assert.equal(unmetCondition([{ path: present, negate: false, anyOf: false }]), undefined);
    assert.equal(unmetCondition([{ path: absent, negate: true, anyOf: false }]), undefined);
    assert.equal(
      unmetCondition([
        { path: present, negate: false, anyOf: false },
        { path: present, negate: true, anyOf: false },
        { path: absent, negate: false, anyOf: false },
      ]),
      `condition_path_exists=!${present}`,
    );
  });

  it("of the |-conditions one must hold; when none does they are all described", () => {
    const anyOf = [
      { path: absent, negate: false, anyOf: true },
      { path: present, negate: true, anyOf: true },
    ];
    assert.equal(
      unmetCondition(anyOf),
      `condition_path_exists=|${absent} or condition_path_exists=|!${present}`,
    );
    assert.equal(
      unmetCondition([...anyOf, { path: present, negate: false, anyOf: true }]),
      undefined,
    );
  });
});
