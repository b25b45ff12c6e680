import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SupervisorError } from "./errors.js";
import { isGone, supervisorFactory, testConfig, waitState } from "./harness.js";

const { newSupervisor } = supervisorFactory();

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
