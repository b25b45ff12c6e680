import * as assert from "node:assert/strict";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { SupervisorError } from "./errors.js";
import {
  fixture,
  isGone,
  recordStates,
  tempDir,
  testConfig,
  waitFor,
  waitOutput,
  waitState,
} from "./harness.js";
import { readProcStat } from "./proc-fs.js";
import { Supervisor } from "./supervisor.js";

const root = tempDir();
let n = 0;
function newSupervisor(options: { failureResetMinMs?: number } = {}): Supervisor {
  const sup = new Supervisor({
    stateDir: join(root, `s${n++}`),
    runtimeDir: join(root, "run"),
    ...options,
  });
  supervisors.push(sup);
  return sup;
}
const supervisors: Supervisor[] = [];
after(async () => {
  await Promise.all(supervisors.map((s) => s.shutdown()));
});

function pidsFrom(m: RegExpExecArray): number[] {
  return (m[1] ?? "").trim().split(/\s+/).map(Number);
}

describe("lifecycle", () => {
  it("start and stop: states, ProcessInfo, ExitResult, own process group, pidfile, run record", async () => {
    const sup = newSupervisor();
    const pidfile = join(root, "pids", "sleeper.pid");
    const states = recordStates(sup, "sleeper");
    const created = await sup.create(testConfig("sleeper", ["sleep", "1000"], { pidfile }));
    assert.equal(created.state, "created");
    assert.match(created.id, /^[0-9a-f-]{36}$/);
    const info = await sup.start(created.id);
    assert.equal(info.state, "running");
    assert.equal(info.runCount, 1);
    assert.equal(info.restartCount, 0);
    const pid = info.pid ?? 0;
    assert.ok(pid > 0);
    assert.ok(info.startedAt instanceof Date);
    assert.ok((info.uptimeMs ?? -1) >= 0);
    // No shell: the pid is sleep itself, leading its own process group.
    assert.match(readFileSync(`/proc/${pid}/cmdline`, "utf8"), /^sleep\0/);
    assert.equal(readProcStat(pid)?.pgrp, pid);
    assert.equal(readFileSync(pidfile, "utf8"), `${pid}\n`);
    const record = JSON.parse(
      readFileSync(join(sup.stateDir, "run", `${info.id}.json`), "utf8"),
    ) as Record<string, unknown>;
    assert.equal(record.name, "sleeper");
    assert.equal(record.pid, pid);
    assert.equal(record.pgid, pid);
    assert.equal(record.startTime, readProcStat(pid)?.startTime);
    assert.equal(record.bootId, readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
    assert.equal(sup.get("sleeper").id, info.id);

    const stopped = await sup.stop("sleeper");
    assert.equal(stopped.state, "stopped");
    assert.equal(stopped.pid, undefined);
    const exit = stopped.lastExit;
    assert.ok(exit);
    assert.equal(exit.code, null);
    assert.equal(exit.signal, "SIGTERM");
    assert.equal(exit.stoppedByUs, true);
    assert.equal(exit.timedOut, false);
    assert.equal(exit.success, true);
    assert.ok(exit.durationMs >= 0);
    assert.ok(isGone(pid));
    assert.equal(existsSync(pidfile), false);
    assert.equal(existsSync(join(sup.stateDir, "run", `${info.id}.json`)), false);
    assert.deepEqual(states, ["starting", "running", "stopping", "stopped"]);
  });

  it("a process that ignores SIGTERM is SIGKILLed with its group after timeout_stop_sec", async () => {
    const sup = newSupervisor();
    await sup.create(
      testConfig("stubborn", ["sh", fixture("ignore-term.sh")], { timeoutStopSec: 0.3 }),
    );
    const ready = waitOutput(sup, "stubborn", /pids ([\d ]+)\n/);
    await sup.start("stubborn");
    const pids = pidsFrom(await ready);
    assert.equal(pids.length, 2);
    const info = await sup.stop("stubborn");
    assert.equal(info.state, "stopped");
    assert.equal(info.lastExit?.timedOut, true);
    assert.equal(info.lastExit?.signal, "SIGKILL");
    for (const pid of pids) assert.ok(isGone(pid), `pid ${pid} still alive`);
  });

  it("a process that forks grandchildren is fully gone after stop", async () => {
    const sup = newSupervisor();
    const inner = join(root, "inner.pid");
    await sup.create(testConfig("tree", ["sh", fixture("fork-tree.sh"), inner]));
    const ready = waitOutput(sup, "tree", /pids ([\d ]+)\n/);
    await sup.start("tree");
    const pids = pidsFrom(await ready);
    assert.equal(pids.length, 4);
    for (const pid of pids) assert.equal(isGone(pid), false);
    const usage = await sup.usage("tree");
    assert.ok(usage);
    assert.ok(usage.processCount >= 4, `processCount ${usage.processCount}`);
    assert.ok(usage.rssBytes > 0);
    assert.ok(usage.threads >= usage.processCount);
    await sup.stop("tree");
    for (const pid of pids) assert.ok(isGone(pid), `pid ${pid} still alive`);
    assert.equal(await sup.usage("tree"), undefined);
  });

  it("what a main process leaves in its group dies with it (no orphans)", async () => {
    const sup = newSupervisor();
    await sup.create(testConfig("leaver", ["sh", fixture("leave-child.sh")]));
    const out = waitOutput(sup, "leaver", /pids (\d+)\n/);
    const exited = waitState(sup, "leaver", "exited");
    await sup.start("leaver");
    const [child] = pidsFrom(await out);
    const info = await exited;
    assert.equal(info.lastExit?.code, 0);
    assert.ok(isGone(child ?? 0));
  });

  it("success_exit_status decides exited vs failed", async () => {
    const sup = newSupervisor();
    await sup.create(
      testConfig("ok3", ["sh", fixture("exit-with.sh"), "3"], { successExitStatus: [0, 3] }),
    );
    await sup.create(testConfig("bad3", ["sh", fixture("exit-with.sh"), "3"]));
    const ok = waitState(sup, "ok3", "exited", "failed");
    const bad = waitState(sup, "bad3", "exited", "failed");
    await Promise.all([sup.start("ok3"), sup.start("bad3")]);
    const [a, b] = await Promise.all([ok, bad]);
    assert.equal(a.state, "exited");
    assert.equal(a.lastExit?.success, true);
    assert.equal(b.state, "failed");
    assert.equal(b.failureReason, "exited with code 3");
    assert.equal(b.lastExit?.code, 3);
    assert.equal(b.lastExit?.success, false);
  });

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

describe("restarts", () => {
  it("restart_sec 0 replaces a killed process at once", async () => {
    const sup = newSupervisor();
    await sup.create(
      testConfig("phoenix", ["sleep", "1000"], { restart: "always", restartSec: 0 }),
    );
    const first = await sup.start("phoenix");
    const restarted = waitFor(sup, "phoenix", (p) => p.state === "running" && p.pid !== first.pid);
    process.kill(first.pid ?? 0, "SIGKILL");
    const info = await restarted;
    assert.equal(info.restartCount, 1);
    assert.equal(info.runCount, 2);
    assert.equal(info.lastExit?.signal, "SIGKILL");
    assert.equal(info.lastExit?.stoppedByUs, false);
    await sup.stop("phoenix");
  });

  it("a manual stop never triggers a restart (restart: always)", async () => {
    const sup = newSupervisor();
    await sup.create(testConfig("always", ["sleep", "1000"], { restart: "always", restartSec: 0 }));
    await sup.start("always");
    const info = await sup.stop("always");
    assert.equal(info.state, "stopped");
    assert.equal(info.runCount, 1);
    assert.equal(sup.get("always").state, "stopped");
  });

  it("on-failure restarts failures only; on-success restarts successes only", async () => {
    const sup = newSupervisor();
    const restarts: string[] = [];
    sup.on("restart", ({ process: p }) => restarts.push(p.name));
    const common = { restartSec: 0.01, startLimitBurst: 3, startLimitIntervalSec: 60 };
    await sup.create(
      testConfig("of-ok", ["sh", fixture("exit-with.sh"), "0"], {
        ...common,
        restart: "on-failure",
      }),
    );
    await sup.create(
      testConfig("of-bad", ["sh", fixture("exit-with.sh"), "1"], {
        ...common,
        restart: "on-failure",
      }),
    );
    await sup.create(
      testConfig("os-ok", ["sh", fixture("exit-with.sh"), "0"], {
        ...common,
        restart: "on-success",
      }),
    );
    await sup.create(
      testConfig("os-bad", ["sh", fixture("exit-with.sh"), "1"], {
        ...common,
        restart: "on-success",
      }),
    );
    const done = ["of-ok", "of-bad", "os-ok", "os-bad"].map((name) =>
      waitFor(sup, name, (p) => p.state === "exited" || p.state === "failed"),
    );
    for (const name of ["of-ok", "of-bad", "os-ok", "os-bad"]) await sup.start(name);
    const [ofOk, ofBad, osOk, osBad] = await Promise.all(done);
    assert.equal(ofOk?.state, "exited");
    assert.equal(ofOk?.restartCount, 0);
    assert.equal(ofBad?.state, "failed");
    assert.equal(ofBad?.restartCount, 2);
    assert.equal(ofBad?.failureReason, "start limit hit: 3 starts within 60 s");
    assert.equal(osOk?.state, "failed");
    assert.equal(osOk?.restartCount, 2);
    assert.equal(osOk?.failureReason, "start limit hit: 3 starts within 60 s");
    assert.equal(osBad?.state, "failed");
    assert.equal(osBad?.restartCount, 0);
    assert.equal(osBad?.failureReason, "exited with code 1");
    assert.deepEqual(
      restarts.filter((r) => r === "of-ok" || r === "os-bad"),
      [],
    );
  });

  it("backoff grows exponentially, is capped, and resets after a long enough run", async () => {
    const sup = newSupervisor({ failureResetMinMs: 300 });
    const dir = tempDir();
    const delays: number[] = [];
    sup.on("restart", ({ process: p, delayMs }) => {
      if (p.name === "flaky") delays.push(delayMs);
    });
    const states = recordStates(sup, "flaky");
    // Runs 1-4 fail at once, runs 5+ fail after 0.5 s (longer than the reset threshold).
    await sup.create(
      testConfig("flaky", ["sh", fixture("flaky.sh"), join(dir, "count"), "4", "0.5"], {
        restart: "on-failure",
        restartSec: 0.02,
        restartMaxDelaySec: 0.08,
        startLimitBurst: 100,
      }),
    );
    const sixth = waitFor(sup, "flaky", (p) => p.runCount === 6 && p.state === "running");
    await sup.start("flaky");
    const info = await sixth;
    assert.deepEqual(delays, [20, 40, 80, 80, 20]);
    assert.equal(info.consecutiveFailures, 1);
    assert.ok(states.includes("backoff"));
    await sup.stop("flaky");
  });

  it("backoff state carries the next restart time; a stop during backoff cancels it", async () => {
    const sup = newSupervisor();
    await sup.create(
      testConfig("later", ["sh", fixture("exit-with.sh"), "1"], {
        restart: "always",
        restartSec: 0.3,
      }),
    );
    const backoff = waitState(sup, "later", "backoff");
    await sup.start("later");
    const info = await backoff;
    assert.ok(info.nextRestartAt instanceof Date);
    assert.ok((info.nextRestartAt?.getTime() ?? 0) > (info.lastExit?.endedAt.getTime() ?? 0));
    assert.equal(info.stateReason, "restarting after: exited with code 1");
    const stopped = await sup.stop("later");
    assert.equal(stopped.state, "stopped");
    assert.equal(stopped.nextRestartAt, undefined);
    // Outlive the cancelled delay: nothing may start.
    await delay(600);
    assert.equal(sup.get("later").runCount, 1);
    assert.equal(sup.get("later").state, "stopped");
  });

  it("start limit: failed with a reason until a manual start, which resets the window", async () => {
    const sup = newSupervisor();
    await sup.create(
      testConfig("limited", ["sh", fixture("exit-with.sh"), "1"], {
        restart: "always",
        restartSec: 0,
        startLimitBurst: 4,
        startLimitIntervalSec: 30,
      }),
    );
    const failed = waitState(sup, "limited", "failed");
    await sup.start("limited");
    const info = await failed;
    assert.equal(info.failureReason, "start limit hit: 4 starts within 30 s");
    assert.equal(info.runCount, 4);
    const again = waitFor(sup, "limited", (p) => p.state === "failed" && p.runCount === 8);
    await sup.start("limited");
    assert.equal((await again).failureReason, "start limit hit: 4 starts within 30 s");
  });
});

describe("API", () => {
  it("errors carry codes; delete refuses a running process unless forced", async () => {
    const sup = newSupervisor();
    await sup.create(testConfig("del", ["sleep", "1000"]));
    await assert.rejects(sup.create(testConfig("del", ["true"])), (e: unknown) => {
      return e instanceof SupervisorError && e.code === "already-exists";
    });
    assert.throws(
      () => sup.get("nope"),
      (e: unknown) => e instanceof SupervisorError && e.code === "not-found",
    );
    await assert.rejects(sup.start("nope"), { code: "not-found" });
    await assert.rejects(sup.create(testConfig("bad name", ["true"])), {
      code: "invalid-argument",
    });
    const info = await sup.start("del");
    await assert.rejects(sup.delete("del"), { code: "invalid-state" });
    await sup.delete(info.id, { force: true });
    assert.ok(isGone(info.pid ?? 0));
    assert.deepEqual(
      sup.list().map((p) => p.name),
      [],
    );
    assert.equal(SupervisorError.from(new Error("x")).code, "invalid-state");
  });

  it("restart gives a new pid; create with autoStart starts", async () => {
    const sup = newSupervisor();
    const a = await sup.create(testConfig("auto", ["sleep", "1000"], { autoStart: true }));
    assert.equal(a.state, "running");
    const b = await sup.restart("auto");
    assert.equal(b.state, "running");
    assert.notEqual(b.pid, a.pid);
    assert.ok(isGone(a.pid ?? 0));
    assert.equal(b.runCount, 2);
    assert.equal(b.restartCount, 0);
  });

  it("update: hot fields vs restart-required fields, dry run, restart", async () => {
    const sup = newSupervisor();
    const base = testConfig("upd", ["sleep", "1000"]);
    const first = await sup.create(base);
    await sup.start("upd");
    const pid = sup.get("upd").pid;
    const next = { ...base, restart: "always" as const, env: { A: "1" }, timeoutStopSec: 5 };
    const dry = await sup.update("upd", next, { dryRun: true });
    assert.deepEqual(dry.updatedFields, ["restart", "timeout_stop_sec"]);
    assert.deepEqual(dry.restartRequiredFields, ["env"]);
    assert.equal(dry.restarted, false);
    assert.equal(sup.get("upd").config.restart, "never");
    const hot = await sup.update("upd", next);
    assert.equal(hot.restarted, false);
    assert.equal(sup.get("upd").config.restart, "always");
    assert.equal(sup.get("upd").pid, pid);
    const cold = await sup.update("upd", { ...next, env: { A: "2" } }, { restart: true });
    assert.equal(cold.restarted, true);
    assert.notEqual(cold.process.pid, pid);
    assert.equal(cold.process.id, first.id);
    await assert.rejects(sup.update("upd", testConfig("other", ["true"])), {
      code: "invalid-argument",
    });
  });

  it("list is a cheap snapshot of every process", async () => {
    const sup = newSupervisor();
    for (let i = 0; i < 50; i++) await sup.create(testConfig(`p${i}`, ["true"]));
    const list = sup.list();
    assert.equal(list.length, 50);
    assert.ok(list.every((p) => p.state === "created"));
  });
});

describe("dependencies", () => {
  it("requires/wants start dependencies first; binds_to cascades stop; conflicts stops the other", async () => {
    const sup = newSupervisor();
    await sup.create(testConfig("db", ["sleep", "1000"]));
    await sup.create(testConfig("cache", ["sleep", "1000"]));
    await sup.create(
      testConfig("web", ["sleep", "1000"], { requires: ["db"], wants: ["cache"], bindsTo: ["db"] }),
    );
    await sup.create(testConfig("maint", ["sleep", "1000"], { conflicts: ["web"] }));
    const web = await sup.start("web");
    assert.equal(web.state, "running");
    assert.equal(sup.get("db").state, "running");
    assert.equal(sup.get("cache").state, "running");
    const webStopped = waitState(sup, "web", "stopped");
    await sup.stop("db");
    assert.equal((await webStopped).stateReason, 'bound to "db", which is stopped');
    await sup.start("web");
    assert.equal(sup.get("web").state, "running");
    await sup.start("maint");
    assert.equal(sup.get("web").state, "stopped");
    assert.equal(sup.get("maint").state, "running");

    await sup.create(testConfig("needs-missing", ["sleep", "1000"], { requires: ["nothere"] }));
    const failed = await sup.start("needs-missing");
    assert.equal(failed.state, "failed");
    assert.equal(failed.failureReason, 'required dependency "nothere" does not exist');
  });
});

describe("shutdown", () => {
  it("stops everything in parallel and leaves no child", async () => {
    const sup = newSupervisor();
    const pids: number[] = [];
    for (let i = 0; i < 20; i++) {
      await sup.create(testConfig(`many${i}`, ["sleep", "1000"], { restart: "always" }));
      pids.push((await sup.start(`many${i}`)).pid ?? 0);
    }
    await sup.create(
      testConfig("stubborn2", ["sh", fixture("ignore-term.sh")], { timeoutStopSec: 0.2 }),
    );
    pids.push((await sup.start("stubborn2")).pid ?? 0);
    await sup.shutdown();
    for (const pid of pids) assert.ok(isGone(pid), `pid ${pid} survived shutdown`);
    assert.ok(sup.list().every((p) => p.state === "stopped"));
    assert.ok(statSync(sup.stateDir).isDirectory());
  });
});
