import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { supervisorFactory, testConfig } from "./harness.js";

const { newSupervisor } = supervisorFactory();

// Found by `pnpm fault fuzz-rpc`: two starts (or restarts) of one process arriving together
// both found it idle and both launched it; the second run's spawn then threw "event "spawn" is
// not allowed in state "running"" from a child-process event, and the daemon died.
describe("concurrent starts of one process", () => {
  it("start it once: the later ones join the start in progress", async () => {
    const sup = newSupervisor();
    const { id } = await sup.create(testConfig("once", ["sleep", "1000"]));
    const infos = await Promise.all([sup.start(id), sup.start(id), sup.start("once")]);
    assert.deepEqual(
      infos.map((i) => i.runCount),
      [1, 1, 1],
    );
    assert.equal(new Set(infos.map((i) => i.pid)).size, 1);
    await sup.shutdown();
  });

  it("restarts together leave one run, whatever the interleaving", async () => {
    const sup = newSupervisor();
    const { id } = await sup.create(testConfig("quick", ["true"]));
    for (let round = 0; round < 20; round++) {
      await Promise.all([sup.restart(id), sup.restart(id), sup.start(id), sup.restart(id)]);
    }
    const slow = await sup.create(testConfig("slow", ["sleep", "1000"]));
    for (let round = 0; round < 5; round++) {
      const infos = await Promise.all([sup.restart(slow.id), sup.restart(slow.id)]);
      assert.equal(new Set(infos.map((i) => i.pid)).size, 1, `round ${round}`);
    }
    assert.equal(sup.get(slow.id).state, "running");
    await sup.shutdown();
  });
});
