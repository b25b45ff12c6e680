import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  fixture,
  isGone,
  stillAlive,
  supervisorFactory,
  testConfig,
  waitOutput,
  waitState,
} from "./harness.js";
import type { Run } from "./managed.js";
import { sleep, stopDeadline, stopRun } from "./stopper.js";
import type { ExitResult } from "./types.js";

const { root, newSupervisor } = supervisorFactory();

function pidsFrom(m: RegExpExecArray): number[] {
  return (m[1] ?? "").trim().split(/\s+/).map(Number);
}

describe("stopper", () => {
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
    // memory.stat (RSS) is flushed every few seconds; the charged memory counts at once.
    assert.ok((usage.memoryBytes ?? usage.rssBytes) > 0);
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

/** A run of `argv` as the lifecycle would make it, without a supervisor (stdout piped). */
function runOf(argv: readonly string[]): Run {
  const child = spawn(argv[0] ?? "", argv.slice(1), {
    detached: true,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let resolveDone: (exit: ExitResult) => void = () => {};
  const done = new Promise<ExitResult>((r) => {
    resolveDone = r;
  });
  const run: Run = {
    child,
    pid: child.pid ?? 0,
    pgid: child.pid ?? 0,
    adopted: false,
    startedAt: new Date(),
    precedingDelayMs: 0,
    owner: undefined,
    cgroup: undefined,
    oomKillsBefore: 0,
    spawned: true,
    stopRequested: true,
    timedOut: false,
    finished: false,
    pipesClosed: Promise.resolve(),
    over: new AbortController(),
    done,
    resolveDone,
    ready: true,
    readyOrOver: Promise.resolve(),
    resolveReady: () => {},
    restartAnyway: false,
    healthWaiters: [],
  };
  child.once("exit", (code, signal) => {
    const at = new Date();
    run.exit = { code, signal, at };
    run.finished = true;
    run.over.abort();
    resolveDone({
      code,
      signal,
      stoppedByUs: true,
      timedOut: run.timedOut,
      success: true,
      startedAt: run.startedAt,
      endedAt: at,
      durationMs: at.getTime() - run.startedAt.getTime(),
    });
  });
  return run;
}

/** The pids a fixture prints on its first "pids ..." line. */
function firstPids(run: Run): Promise<number[]> {
  return new Promise((resolve) => {
    let text = "";
    run.child.stdout?.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const m = /pids ([\d ]+)\n/.exec(text);
      if (m) resolve(pidsFrom(m));
    });
  });
}

describe("stopRun (without a supervisor)", () => {
  it("sends kill_signal to the group and resolves with the run's end", async () => {
    const run = runOf(["sh", fixture("fork-tree.sh"), join(root, "direct-inner.pid")]);
    const pids = await firstPids(run);
    assert.equal(pids.length, 4);
    // 'close': every process holding the output pipe (the whole tree) is gone.
    const closed = once(run.child, "close");
    await stopRun(run, { killSignal: "SIGTERM", killMode: "process-group", timeoutStopSec: 5 });
    await closed;
    assert.equal(run.exit?.signal, "SIGTERM");
    assert.equal(run.timedOut, false);
    assert.deepEqual(await stillAlive(pids), []);
  });

  it("SIGKILLs the group after timeout_stop_sec when kill_signal is ignored, marking timedOut", async () => {
    const run = runOf(["sh", fixture("ignore-term.sh")]);
    const pids = await firstPids(run);
    assert.equal(pids.length, 2);
    const closed = once(run.child, "close");
    await stopRun(run, { killSignal: "SIGTERM", killMode: "process-group", timeoutStopSec: 0.2 });
    await closed;
    assert.equal(run.timedOut, true);
    assert.equal(run.exit?.signal, "SIGKILL");
    assert.deepEqual(await stillAlive(pids), []);
  });

  it("a run already over is not signalled again", async () => {
    const run = runOf(["true"]);
    await once(run.child, "exit");
    await stopRun(run, { killSignal: "SIGTERM", killMode: "process-group", timeoutStopSec: 5 });
    assert.equal(run.exit?.code, 0);
    assert.equal(run.timedOut, false);
  });
});

describe("sleep and stopDeadline", () => {
  it("sleep resolves at once when aborted, before its delay", async () => {
    const abort = new AbortController();
    const started = Date.now();
    const slept = sleep(60_000, abort.signal);
    abort.abort();
    await slept;
    assert.ok(Date.now() - started < 5_000);
    await sleep(1, new AbortController().signal);
  });

  it("timeout_stop_sec 0 and infinity wait forever; otherwise a deadline that far ahead", () => {
    assert.equal(stopDeadline({ timeoutStopSec: 0 }), Number.POSITIVE_INFINITY);
    assert.equal(
      stopDeadline({ timeoutStopSec: Number.POSITIVE_INFINITY }),
      Number.POSITIVE_INFINITY,
    );
    const deadline = stopDeadline({ timeoutStopSec: 2 });
    assert.ok(deadline > Date.now() + 1_500 && deadline <= Date.now() + 2_000);
  });
});
