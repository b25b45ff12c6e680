import * as assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import {
  fixture,
  isGone,
  recordStates,
  supervisorFactory,
  tempDir,
  testConfig,
  waitFor,
  waitState,
} from "./harness.js";
import { describeExit } from "./lifecycle.js";
import { readProcStat } from "./proc-fs.js";

const { root, newSupervisor } = supervisorFactory();

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

describe("describeExit", () => {
  const at = new Date(0);
  const base = {
    stoppedByUs: false,
    timedOut: false,
    success: false,
    startedAt: at,
    endedAt: at,
    durationMs: 0,
  };

  it("says why a run ended: spawn error, signal, or exit code", () => {
    assert.equal(describeExit({ ...base, code: 3, signal: null }), "exited with code 3");
    assert.equal(
      describeExit({ ...base, code: null, signal: "SIGSEGV" }),
      "killed by signal SIGSEGV",
    );
    assert.equal(
      describeExit({ ...base, code: null, signal: null, spawnError: "command not found: x" }),
      "command not found: x",
    );
  });
});
