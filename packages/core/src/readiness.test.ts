import * as assert from "node:assert/strict";
import { chmodSync, mkdirSync, readFileSync } from "node:fs";
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
  until,
  waitFor,
  waitOutput,
  waitState,
} from "./harness.js";

const { newSupervisor } = supervisorFactory();
const app = fixture("notify-app.mjs");

/** The real uid of a process (/proc/<pid>/status). */
function readProcStatus(pid: number): { uid: string } {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^Uid:\s+(\d+)/m);
  return { uid: line?.[1] ?? "" };
}

function notifyConfig(name: string, steps: string[], overrides = {}) {
  return testConfig(name, [process.execPath, app, ...steps], {
    processType: "notify",
    ...overrides,
  });
}

describe("readiness", () => {
  it("simple: running once the program is executed; a failed exec is a failed start", async () => {
    const sup = newSupervisor();
    const states = recordStates(sup, "s");
    await sup.create(testConfig("s", ["sleep", "100"]));
    assert.equal((await sup.start("s")).state, "running");
    assert.deepEqual(states, ["starting", "running"]);
    await sup.create(testConfig("nope", [join(tempDir(), "missing")]));
    const failed = await sup.start("nope");
    assert.equal(failed.state, "failed");
    assert.match(failed.failureReason ?? "", /command not found/);
    assert.equal(failed.runCount, 1);
  });

  it("oneshot: starting while it runs, then exited (done); a failing one is failed", async () => {
    const sup = newSupervisor();
    const states = recordStates(sup, "job");
    await sup.create(testConfig("job", ["sh", "-c", "sleep 0.3"], { processType: "oneshot" }));
    const starting = sup.start("job");
    await waitState(sup, "job", "starting");
    await delay(100);
    assert.equal(sup.get("job").state, "starting");
    const done = await starting;
    assert.equal(done.state, "exited");
    assert.equal(done.lastExit?.success, true);
    assert.deepEqual(states, ["starting", "exited"]);

    await sup.create(testConfig("bad", ["sh", "-c", "exit 3"], { processType: "oneshot" }));
    const bad = await sup.start("bad");
    assert.equal(bad.state, "failed");
    assert.equal(bad.failureReason, "exited with code 3");
  });

  it("notify: running on READY=1, STATUS= shown; not before", async () => {
    const sup = newSupervisor();
    const states = recordStates(sup, "n");
    await sup.create(
      notifyConfig("n", ["status=warming up", "sleep=400", "ready", "status=serving"]),
    );
    const start = sup.start("n");
    // STATUS= changes no state: what list and describe show is read as they would.
    await until(() => sup.get("n").statusText === "warming up");
    assert.equal(sup.get("n").state, "starting");
    const running = await start;
    assert.equal(running.state, "running");
    assert.deepEqual(states, ["starting", "running"]);
    await until(() => sup.get("n").statusText === "serving");
    await sup.stop("n");
  });

  it("notify: RELOADING=1 is shown until READY=1 comes again", async () => {
    const sup = newSupervisor();
    await sup.create(notifyConfig("r", ["ready", "sleep=200", "reloading", "sleep=400", "ready"]));
    await sup.start("r");
    await until(() => sup.get("r").stateReason === "reloading (RELOADING=1)");
    assert.equal(sup.get("r").state, "running");
    await until(() => sup.get("r").stateReason === undefined);
    await sup.stop("r");
  });

  it("notify: MAINPID= names the main process, followed when the first one exits", async () => {
    const sup = newSupervisor();
    await sup.create(notifyConfig("hand", ["mainpid"]));
    const out = waitOutput(sup, "hand", /\{"main":(\d+)\}/);
    await sup.start("hand");
    const main = Number((await out)[1]);
    await until(() => sup.get("hand").pid === main);
    assert.equal(sup.get("hand").state, "running");
    const stopped = await sup.stop("hand");
    assert.equal(stopped.state, "stopped");
    assert.ok(isGone(main));
  });

  it("notify: READY=1 from a descendant counts; a program without it fails at timeout_start_sec", async () => {
    const sup = newSupervisor();
    await sup.create(notifyConfig("kid", ["child-ready"]));
    assert.equal((await sup.start("kid")).state, "running");
    await sup.stop("kid");

    await sup.create(notifyConfig("mute", [], { timeoutStartSec: 0.5, timeoutStopSec: 2 }));
    const info = await sup.start("mute");
    assert.equal(info.state, "failed");
    assert.equal(info.failureReason, "not ready within 0.5s");
    assert.equal(info.lastExit?.success, false);
    assert.equal(info.lastExit?.signal, "SIGTERM");
  });

  it("notify: exiting before READY=1 is a failure even with status 0", async () => {
    const sup = newSupervisor();
    await sup.create(notifyConfig("quit", ["exit=0"]));
    const info = await sup.start("quit");
    assert.equal(info.state, "failed");
    assert.equal(info.failureReason, "exited before it was ready (no READY=1)");
  });

  it("notify: EXTEND_TIMEOUT_USEC extends the start; the restart policy applies to a timeout", async () => {
    const sup = newSupervisor();
    await sup.create(
      // Ready after 3.5 s, past the 3 s allowed, within the 8 s the program asks for (generous
      // margins: a loaded machine may take a second to start node before the extension).
      notifyConfig("slow", ["extend=8000000", "sleep=3500", "ready"], { timeoutStartSec: 3 }),
    );
    assert.equal((await sup.start("slow").then(() => sup.get("slow"))).state, "running");
    await sup.stop("slow");

    await sup.create(
      notifyConfig("again", [], {
        timeoutStartSec: 0.3,
        restart: "on-failure",
        restartSec: 0.1,
        startLimitBurst: 2,
        startLimitIntervalSec: 60,
      }),
    );
    await sup.start("again");
    const failed = await waitState(sup, "again", "failed");
    assert.match(failed.failureReason ?? "", /start limit hit: 2 starts/);
    assert.equal(failed.restartCount, 1);
  });

  it("notify: NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID (the program's own pid)", async () => {
    const sup = newSupervisor();
    await sup.create(notifyConfig("env", ["env", "ready"], { watchdogSec: 30 }));
    const out = waitOutput(sup, "env", /\{.*\}\n/);
    const info = await sup.start("env");
    const env = JSON.parse((await out)[0]) as Record<string, string>;
    assert.equal(env.WATCHDOG_USEC, "30000000");
    assert.equal(Number(env.WATCHDOG_PID), env.pid);
    assert.equal(Number(env.pid), info.pid);
    assert.ok(env.NOTIFY_SOCKET?.endsWith(".sock"));
    await sup.stop("env");
  });

  it("watchdog: a silent process is restarted; one that keeps sending stays", async () => {
    const sup = newSupervisor();
    await sup.create(
      notifyConfig("quiet", ["ready"], { watchdogSec: 0.4, restart: "never", restartSec: 0.1 }),
    );
    const first = await sup.start("quiet");
    const restarted = await waitFor(
      sup,
      "quiet",
      (p) => p.restartCount === 1 && p.state === "running",
    );
    assert.notEqual(restarted.pid, first.pid);
    assert.match(restarted.lastExit?.failure ?? "", /watchdog timeout: no WATCHDOG=1 within 0.4s/);
    assert.ok(await isGone(first.pid ?? 0));
    await sup.stop("quiet");

    await sup.create(notifyConfig("alive", ["ready", "watchdog=100"], { watchdogSec: 0.5 }));
    const alive = await sup.start("alive");
    await delay(1500);
    assert.equal(sup.get("alive").pid, alive.pid);
    assert.equal(sup.get("alive").restartCount, 0);
    await sup.stop("alive");
  });

  it("notify as another user: a program run as nobody reaches the socket and is ready", async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const sup = newSupervisor({ notifySocket: join(dir, "notify.sock") });
    await sup.create(notifyConfig("nob", ["status=as nobody", "ready"], { user: "nobody" }));
    const info = await sup.start("nob");
    assert.equal(info.state, "running");
    assert.equal(readProcStatus(info.pid ?? 0).uid, "65534");
    await until(() => sup.get("nob").statusText === "as nobody");
    await sup.stop("nob");
  });

  it("a message from another process tree is not taken", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "sock"));
    chmodSync(dir, 0o755);
    const sock = join(dir, "sock", "notify.sock");
    const sup = newSupervisor({ notifySocket: sock });
    await sup.create(notifyConfig("target", [], { timeoutStartSec: 1.5 }));
    const start = sup.start("target");
    await waitState(sup, "target", "starting");
    await delay(200);
    // A stranger (not a descendant of target) says READY=1 on the same socket.
    const { sdNotify } = await import("@procmgr/platform");
    await sdNotify({ READY: 1 }, { socketPath: sock });
    const info = await start;
    assert.equal(info.state, "failed");
    assert.equal(info.failureReason, "not ready within 1.5s");
    assert.ok(readFileSync(app, "utf8").length > 0);
  });
});

describe("forking", () => {
  it("ready when the first process exited and the pidfile names the main process; stop stops it", async () => {
    const sup = newSupervisor();
    const pidfile = join(tempDir(), "d.pid");
    const states = recordStates(sup, "d");
    await sup.create(
      testConfig("d", [fixture("forking-daemon.sh"), pidfile, "0.3"], {
        processType: "forking",
        pidfile,
      }),
    );
    const info = await sup.start("d");
    assert.equal(info.state, "running");
    assert.deepEqual(states, ["starting", "running"]);
    const main = Number(readFileSync(pidfile, "utf8"));
    assert.equal(info.pid, main);
    assert.match(readFileSync(`/proc/${main}/cmdline`, "utf8"), /^sleep\0/);
    const stopped = await sup.stop("d");
    assert.equal(stopped.state, "stopped");
    assert.ok(isGone(main));
  });

  it("the main process dying is the end of the run; the restart policy applies", async () => {
    const sup = newSupervisor();
    const pidfile = join(tempDir(), "d.pid");
    await sup.create(
      testConfig("d", [fixture("forking-daemon.sh"), pidfile], {
        processType: "forking",
        pidfile,
        restart: "on-failure",
        restartSec: 0.1,
      }),
    );
    const first = await sup.start("d");
    process.kill(first.pid ?? 0, "SIGKILL");
    const again = await waitFor(sup, "d", (p) => p.restartCount === 1 && p.state === "running");
    assert.notEqual(again.pid, first.pid);
    assert.equal(again.lastExit?.failure, `main process ${first.pid} exited`);
    await sup.stop("d");
  });

  it("a first process that fails, or a pidfile never written, fails the start", async () => {
    const sup = newSupervisor();
    const pidfile = join(tempDir(), "d.pid");
    await sup.create(
      testConfig("bad", ["sh", "-c", "exit 1"], { processType: "forking", pidfile }),
    );
    const bad = await sup.start("bad");
    assert.equal(bad.state, "failed");
    assert.equal(bad.failureReason, "exited with code 1");
    await sup.create(
      testConfig("never", ["sh", "-c", "exit 0"], {
        processType: "forking",
        pidfile: join(tempDir(), "none.pid"),
        timeoutStartSec: 0.4,
      }),
    );
    const never = await sup.start("never");
    assert.equal(never.state, "failed");
    assert.equal(never.failureReason, "not ready within 0.4s");
  });
});
