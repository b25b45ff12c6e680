import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { cgroupsSkip, fixture, isGone, tempDir, testConfig } from "./harness.js";
import { Supervisor } from "./supervisor.js";

describe("recover", () => {
  const stateDir = join(tempDir("procmgr-recover-"), "state");
  const leftovers: number[] = [];
  after(() => {
    for (const pid of leftovers) {
      try {
        if (!isGone(pid)) process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });

  it("stops what a crashed supervisor left behind, by its cgroups: a child that left its group too", {
    skip: cgroupsSkip(),
  }, async () => {
    const crashy = spawn(
      process.execPath,
      [fixture("crashy-supervisor.mjs"), stateDir, fixture("setsid-tree.sh")],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const line = await new Promise<string>((resolve, reject) => {
      let text = "";
      crashy.stdout.on("data", (c: Buffer) => {
        text += c.toString();
        const nl = text.indexOf("\n");
        if (nl >= 0) resolve(text.slice(0, nl));
      });
      crashy.once("exit", (code) => reject(new Error(`crashy supervisor exited early (${code})`)));
    });
    const { a, tree } = JSON.parse(line) as { a: number; tree: number[] };
    const pids = [a, ...tree];
    leftovers.push(...pids);
    // The supervisor dies without stopping anything.
    const dead = new Promise((r) => crashy.once("exit", r));
    crashy.kill("SIGKILL");
    await dead;
    for (const pid of pids) assert.equal(isGone(pid), false, `pid ${pid} should have survived`);
    assert.equal(readdirSync(join(stateDir, "run")).length, 2);

    const sup = new Supervisor({ stateDir });
    const { stopped } = await sup.recover();
    assert.deepEqual(stopped.map((s) => s.name).sort(), ["a", "b"]);
    assert.ok(stopped.some((s) => s.pid === a));
    for (const pid of pids) assert.ok(isGone(pid), `pid ${pid} survived recover`);
    assert.deepEqual(readdirSync(join(stateDir, "run")), []);
    assert.deepEqual((await sup.recover()).stopped, []);
    await sup.shutdown();
  });

  it("without cgroups, never touches a pid whose start time does not match the record", async () => {
    const stateDir2 = join(tempDir("procmgr-recover2-"), "state");
    // Where there are no cgroups: the run records alone say what is ours.
    const sup = new Supervisor({ stateDir: stateDir2, cgroups: false });
    await sup.create(testConfig("victim", ["sleep", "1000"]));
    const info = await sup.start("victim");
    const pid = info.pid ?? 0;
    // Forge the record as if an older process had had this pid.
    const { readFileSync, writeFileSync } = await import("node:fs");
    const file = join(stateDir2, "run", `${info.id}.json`);
    const record = JSON.parse(readFileSync(file, "utf8")) as { startTime: number };
    writeFileSync(file, JSON.stringify({ ...record, startTime: record.startTime - 1 }));
    const other = new Supervisor({ stateDir: stateDir2, cgroups: false });
    assert.deepEqual((await other.recover()).stopped, []);
    assert.equal(isGone(pid), false);
    assert.equal(existsSync(file), false);
    await sup.shutdown();
    assert.ok(isGone(pid));
  });
});
