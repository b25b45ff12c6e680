/**
 * Calls that meet on one process (found by the fault suite's `races` and `signals`): starts
 * that waited out the same stop, a start racing a delete, two deletes, a create during a
 * shutdown. Real processes, told apart by a unique `sleep` argument.
 */
import * as assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { supervisorFactory, testConfig, until } from "./harness.js";

const { newSupervisor } = supervisorFactory();

/** A `sleep` argv no other process has. */
function uniqueSleep(): string[] {
  return ["sleep", String(3_000_000 + Math.floor(Math.random() * 1_000_000))];
}

/** Live (not zombie) processes whose whole argv is `argv`. */
function running(argv: readonly string[]): number[] {
  const want = `${argv.join("\0")}\0`;
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8") === want) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe("calls that meet on one process", () => {
  it("a restart and a start that wait out the same stop launch one run", async () => {
    const sup = newSupervisor();
    const argv = uniqueSleep();
    await sup.create(testConfig("twice", argv, { autoStart: true }));
    await Promise.all([sup.restart("twice"), sup.start("twice"), sup.restart("twice")]);
    const info = sup.get("twice");
    assert.equal(info.state, "running");
    // Its pid runs the prelude (entering its cgroup) a moment before it execs sleep.
    await until(() => running(argv).join() === String(info.pid));
    assert.equal(info.runCount, 2);
    await sup.stop("twice");
    assert.deepEqual(running(argv), []);
  });

  it("a start that waited out a delete's stop does not run the deleted process", async () => {
    const sup = newSupervisor();
    const argv = uniqueSleep();
    await sup.create(testConfig("doomed", argv, { autoStart: true }));
    const [deleted] = await Promise.allSettled([
      sup.delete("doomed", { force: true }),
      sup.start("doomed"),
    ]);
    assert.equal(deleted.status, "fulfilled");
    assert.throws(() => sup.get("doomed"), /no process/);
    assert.deepEqual(running(argv), []);
  });

  it("two deletes at once remove it once; a process created since keeps the name", async () => {
    const sup = newSupervisor();
    const argv = uniqueSleep();
    await sup.create(testConfig("gone", argv, { autoStart: true }));
    let deletedEvents = 0;
    sup.on("deleted", () => deletedEvents++);
    await Promise.all([
      sup.delete("gone", { force: true }),
      sup.delete("gone", { force: true }),
      sup.delete("gone", { force: true }),
    ]);
    assert.equal(deletedEvents, 1);
    const again = await sup.create(testConfig("gone", argv, { autoStart: true }));
    assert.equal(sup.get("gone").id, again.id);
    await until(() => running(argv).join() === String(sup.get("gone").pid));
    await sup.delete("gone", { force: true });
    assert.deepEqual(running(argv), []);
  });

  it("a restart and an auto_start create are meant to run throughout (startPending)", async () => {
    const sup = newSupervisor();
    const seen: string[] = [];
    sup.on("created", ({ process: p }) => seen.push(`created ${p.startPending === true}`));
    sup.on("state", ({ process: p }) => seen.push(`${p.state} ${p.startPending === true}`));
    await sup.create(testConfig("meant", uniqueSleep(), { autoStart: true }));
    await sup.restart("meant");
    await sup.stop("meant");
    assert.deepEqual(seen, [
      "created true",
      "starting true",
      "running true",
      "stopping true",
      "stopped true",
      "starting true",
      "running true",
      "stopping false",
      "stopped false",
    ]);
    assert.equal(sup.get("meant").startPending, undefined);
  });

  it("nothing starts once a shutdown began: a process created meanwhile does not run", async () => {
    const sup = newSupervisor();
    const early = uniqueSleep();
    const late = uniqueSleep();
    await sup.create(testConfig("early", early, { autoStart: true }));
    const down = sup.shutdown();
    const created = await sup.create(testConfig("late", late, { autoStart: true }));
    await down;
    assert.notEqual(sup.get(created.id).state, "running");
    assert.deepEqual(running(early), []);
    assert.deepEqual(running(late), []);
  });
});
