import * as assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { isGone, tempDir, testConfig } from "./harness.js";
import { Supervisor } from "./supervisor.js";

describe("apply", () => {
  const sup = new Supervisor({ stateDir: join(tempDir("procmgr-apply-"), "state") });
  after(() => sup.shutdown());

  it("returns the diff, starts auto_start ones in after/before order, restarts only changed running ones", async () => {
    const order: string[] = [];
    sup.on("state", ({ process: p }) => {
      if (p.state === "starting") order.push(p.name);
    });
    const first = [
      testConfig("web", ["sleep", "1000"], { autoStart: true, after: ["db"] }),
      testConfig("db", ["sleep", "1000"], { autoStart: true }),
      testConfig("worker", ["sleep", "1000"], { autoStart: true, before: ["db"] }),
      testConfig("manual", ["sleep", "1000"]),
      testConfig("gone", ["sleep", "1000"], { autoStart: true }),
    ];
    await sup.create(testConfig("api-made", ["sleep", "1000"], { autoStart: true }));
    const dry = await sup.apply(first, { dryRun: true });
    assert.deepEqual(dry, {
      added: ["db", "gone", "manual", "web", "worker"],
      removed: [],
      changed: [],
      unchanged: [],
    });
    assert.equal(sup.list().length, 1);

    const diff = await sup.apply(first);
    assert.deepEqual(diff, dry);
    assert.ok(order.indexOf("worker") < order.indexOf("db"));
    assert.ok(order.indexOf("db") < order.indexOf("web"));
    assert.equal(sup.get("web").state, "running");
    assert.equal(sup.get("manual").state, "created");
    assert.equal(sup.get("web").source, "config");
    const pids = Object.fromEntries(sup.list().map((p) => [p.name, p.pid]));

    const second = [
      testConfig("web", ["sleep", "1000"], { autoStart: true, after: ["db"], env: { V: "2" } }),
      testConfig("db", ["sleep", "1000"], { autoStart: true }),
      testConfig("worker", ["sleep", "1000"], { autoStart: true, before: ["db"] }),
      testConfig("manual", ["sleep", "1000"], { description: "still manual" }),
      testConfig("new", ["sleep", "1000"], { autoStart: true }),
    ];
    const diff2 = await sup.apply(second);
    assert.deepEqual(diff2, {
      added: ["new"],
      removed: ["gone"],
      changed: ["manual", "web"],
      unchanged: ["db", "worker"],
    });
    assert.notEqual(sup.get("web").pid, pids.web);
    assert.equal(sup.get("web").config.env.V, "2");
    assert.equal(sup.get("db").pid, pids.db);
    assert.equal(sup.get("worker").pid, pids.worker);
    assert.equal(sup.get("manual").state, "created");
    assert.equal(sup.get("manual").config.description, "still manual");
    assert.equal(sup.get("new").state, "running");
    assert.throws(() => sup.get("gone"), { code: "not-found" });
    assert.ok(isGone(pids.gone ?? 0));
    assert.ok(isGone(pids.web ?? 0));
    // API-created processes are left alone.
    assert.equal(sup.get("api-made").pid, pids["api-made"]);
    assert.equal(sup.get("api-made").source, "api");

    const diff3 = await sup.apply([]);
    assert.deepEqual(diff3.removed, ["db", "manual", "new", "web", "worker"]);
    assert.deepEqual(
      sup.list().map((p) => p.name),
      ["api-made"],
    );
  });
});
