/**
 * A log file that cannot be written (a full disk: a real tmpfs mounted for the test; a path
 * whose directory cannot exist): the process keeps running and is not paused, the output waits
 * in memory and reaches the file once it can be written, where a gap is marked if there was one.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { tempDir, testConfig, waitState } from "./harness.js";
import { backlogMax } from "./log-failure.js";
import { Supervisor } from "./supervisor.js";

const isRoot = process.getuid?.() === 0;

async function until(test: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `count` numbered lines of 100 bytes, then "done", then a long sleep (the process stays). */
function writer(count: number): string[] {
  return [
    "perl",
    "-e",
    `$|=0; for my $i (1..${count}) { printf "%099d\\n", $i } print "done\\n"; close STDOUT; sleep 300`,
  ];
}

describe("a log file that cannot be written", {
  skip: isRoot ? false : "mounts a tmpfs: needs root",
}, () => {
  const dir = tempDir("procmgr-log-failure-");
  const disk = join(dir, "disk");
  let sup: Supervisor;
  const warnings: string[] = [];

  before(() => {
    mkdirSync(disk);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m", "procmgr-test", disk]);
    sup = new Supervisor({ stateDir: join(dir, "state"), logDir: disk, cgroups: false });
    sup.on("warning", ({ message }) => warnings.push(message));
  });
  after(async () => {
    await sup.shutdown();
    // Lazily: a file the test failed to close must not leave the mount behind.
    execFileSync("umount", ["-l", disk]);
  });

  it("disk full: the process runs on; when space returns every line is in the file, in order", async () => {
    // All but 512 KiB of the 16 MiB taken: 1 MiB of output fills it half way.
    writeFileSync(join(disk, "filler"), Buffer.alloc(16 * 1024 * 1024 - 512 * 1024));
    const p = await sup.create(testConfig("full", writer(10_000)));
    await sup.start(p.id);
    await until(
      () => warnings.some((w) => /cannot write stdout of "full".*ENOSPC/.test(w)),
      20_000,
      "the ENOSPC warning",
    );
    assert.match(warnings.find((w) => /ENOSPC/.test(w)) ?? "", /waits in memory, up to 8 MiB/);
    // Not paused: the writer got through all of its output and still runs.
    const info = await waitState(sup, "full", "running");
    assert.equal(info.state, "running");
    const output = () => readFileSync(join(disk, "full.stdout.log"), "utf8");
    assert.ok(!output().includes("done\n"), "not all of it fits before space returns");
    rmSync(join(disk, "filler"));
    await until(
      () => warnings.some((w) => /stdout of "full": writing .* again$/.test(w)),
      10_000,
      "the recovery",
    );
    const lines = output().split("\n").slice(0, -1);
    assert.equal(lines.length, 10_001);
    for (let i = 0; i < 10_000; i++) assert.equal(lines[i], String(i + 1).padStart(99, "0"));
    assert.equal(lines[10_000], "done");
    assert.equal(sup.get(p.id).state, "running");
    await sup.stop(p.id);
    rmSync(join(disk, "full.stdout.log"));
  });

  it("more than 8 MiB while full: what did not fit is counted, and the gap marked in the file", async () => {
    writeFileSync(join(disk, "filler"), Buffer.alloc(16 * 1024 * 1024 - 64 * 1024));
    const lines = Math.ceil((backlogMax + 2 * 1024 * 1024) / 100);
    const p = await sup.create(testConfig("gap", writer(lines)));
    await sup.start(p.id);
    await until(
      () => warnings.some((w) => /cannot write stdout of "gap".*ENOSPC/.test(w)),
      20_000,
      "ENOSPC",
    );
    // The process finishes writing (it is never paused) before space returns.
    await new Promise((r) => setTimeout(r, 3000));
    rmSync(join(disk, "filler"));
    await until(
      () => warnings.some((w) => /stdout of "gap": writing .* again; \d+ bytes were lost/.test(w)),
      10_000,
      "the recovery",
    );
    const text = readFileSync(join(disk, "gap.stdout.log"), "utf8");
    assert.match(
      text,
      /\[procmgr\] \d+ bytes of output lost here: .*gap\.stdout\.log could not be written \(ENOSPC\)/,
    );
    assert.equal(sup.get(p.id).state, "running");
    await sup.stop(p.id);
    rmSync(join(disk, "gap.stdout.log"));
  });

  it("a log path that cannot be made: the process starts, output waits until the path can be written", async () => {
    const blocked = join(dir, "blocked");
    writeFileSync(blocked, "a file where the log directory should be");
    const p = await sup.create(
      testConfig("nodir", ["sh", "-c", "echo first; echo second; exec sleep 300"], {
        stdout: { kind: "file", path: join(blocked, "out.log") },
      }),
    );
    await sup.start(p.id);
    assert.equal((await waitState(sup, "nodir", "running")).state, "running");
    await until(
      () =>
        warnings.some((w) =>
          /cannot write stdout of "nodir" to .*blocked\/out\.log: .*(ENOTDIR|EEXIST)/.test(w),
        ),
      5000,
      "the warning",
    );
    rmSync(blocked);
    mkdirSync(blocked);
    await until(
      () => warnings.some((w) => /stdout of "nodir": writing .* again$/.test(w)),
      10_000,
      "the recovery",
    );
    assert.equal(readFileSync(join(blocked, "out.log"), "utf8"), "first\nsecond\n");
    await sup.stop(p.id);
  });

  it("a state dir gone read-only: runs still start and end; the run records' trouble said once", async () => {
    // Pipes elsewhere: the kernel refuses a read-only remount while a deleted pipe is open.
    const s2 = new Supervisor({
      stateDir: join(disk, "state2"),
      pipeDir: join(dir, "pipes"),
      cgroups: false,
    });
    const said: string[] = [];
    s2.on("warning", ({ message }) => said.push(message));
    try {
      const p = await s2.create(
        testConfig("flap", ["sh", "-c", "sleep 0.2; exit 1"], {
          restart: "always",
          restartSec: 0.05,
          restartMaxDelaySec: 0.1,
          startLimitIntervalSec: 0,
          stdout: { kind: "null" },
          stderr: { kind: "null" },
        }),
      );
      await s2.start(p.id);
      await until(() => s2.get(p.id).runCount >= 2, 10_000, "a first restart");
      execFileSync("mount", ["-o", "remount,ro", disk]);
      try {
        const runs = s2.get(p.id).runCount;
        await until(() => s2.get(p.id).runCount >= runs + 3, 10_000, "restarts while read-only");
        assert.equal(
          said.filter((w) => /cannot write run records/.test(w)).length,
          1,
          said.join("\n"),
        );
      } finally {
        execFileSync("mount", ["-o", "remount,rw", disk]);
      }
      await until(
        () => said.some((w) => /run records .* are written again/.test(w)),
        10_000,
        "the recovery",
      );
    } finally {
      await s2.shutdown();
    }
  });
});
