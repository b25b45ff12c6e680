import * as assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fixture, freePort, supervisorFactory, tempDir, testConfig, until } from "./harness.js";

const { newSupervisor } = supervisorFactory();

/** A shell command that appends `word` and the time to `log`. */
function mark(log: string, word: string): string {
  // No fork in the trap: a control-group stop signals whatever the cgroup holds, a `date` too.
  return `echo ${word} >> ${log}`;
}

function order(log: string): string[] {
  return readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "");
}

describe("dependencies wait for readiness", () => {
  it("a dependent of a oneshot starts once the oneshot is done (the default config's migrate)", async () => {
    const sup = newSupervisor();
    const log = join(tempDir(), "order.log");
    await sup.create(
      testConfig("migrate", ["sh", "-c", `sleep 0.5; ${mark(log, "migrated")}`], {
        processType: "oneshot",
      }),
    );
    await sup.create(
      testConfig("webapp", ["sh", "-c", `${mark(log, "webapp")}; exec sleep 100`], {
        after: ["migrate"],
        requires: ["migrate"],
      }),
    );
    const web = await sup.start("webapp");
    assert.equal(web.state, "running");
    assert.equal(sup.get("migrate").state, "exited");
    await until(() => order(log).length === 2);
    assert.deepEqual(order(log), ["migrated", "webapp"]);
    // Quick or slow, a done oneshot lets its dependent start again.
    await sup.stop("webapp");
    assert.equal((await sup.start("webapp")).state, "running");
    await sup.stop("webapp");
  });

  it("a required dependency that fails fails its dependents, named; wants does not", async () => {
    const sup = newSupervisor();
    await sup.create(testConfig("db", ["sh", "-c", "exit 4"], { processType: "oneshot" }));
    await sup.create(testConfig("api", ["sleep", "100"], { requires: ["db"], after: ["db"] }));
    await sup.create(testConfig("cache", ["sleep", "100"], { wants: ["db"], after: ["db"] }));
    const api = await sup.start("api");
    assert.equal(api.state, "failed");
    assert.equal(api.failureReason, 'required dependency "db" failed: exited with code 4');
    assert.equal(api.runCount, 0);
    const cache = await sup.start("cache");
    assert.equal(cache.state, "running");
    await sup.stop("cache");
  });

  it("a health-checked dependency: its dependent waits until it is healthy", async () => {
    const sup = newSupervisor();
    const dir = tempDir();
    const log = join(dir, "order.log");
    // The listener comes up 0.6 s after the process: healthy only then.
    const port = await freePort();
    const serve = fixture("tcp-serve.mjs");
    await sup.create(
      testConfig("db", [process.execPath, serve, String(port), "600"], {
        healthCheck: {
          type: "tcp",
          host: "127.0.0.1",
          port,
          intervalSec: 0.1,
          timeoutSec: 1,
          retries: 20,
          startPeriodSec: 0,
          restartAfter: 0,
          method: "GET",
          expectedStatus: 200,
          args: [],
        },
      }),
    );
    await sup.create(
      testConfig("api", ["sh", "-c", `${mark(log, "api")}; exec sleep 100`], {
        requires: ["db"],
        after: ["db"],
      }),
    );
    const api = await sup.start("api");
    assert.equal(api.state, "running");
    assert.equal(sup.get("db").health?.status, "healthy");
    await until(() => existsSync(log));
    await sup.shutdown();
  });

  it("shutdown stops dependents first", async () => {
    const sup = newSupervisor();
    const log = join(tempDir(), "stops.log");
    const up = join(tempDir(), "up.log");
    writeFileSync(log, "");
    writeFileSync(up, "");
    // Each says when its trap is set: a stop before that would end it without a word.
    const trapped = (word: string) => [
      "sh",
      "-c",
      `trap '${mark(log, word)}; exit 0' TERM; ${mark(up, word)}; while :; do sleep 0.05; done`,
    ];
    await sup.create(testConfig("db", trapped("db")));
    await sup.create(testConfig("api", trapped("api"), { requires: ["db"], after: ["db"] }));
    await sup.create(testConfig("web", trapped("web"), { wants: ["api"], after: ["api"] }));
    await sup.start("web");
    assert.equal(sup.get("db").state, "running");
    await until(() => order(up).length === 3);
    await sup.shutdown();
    assert.deepEqual(order(log), ["web", "api", "db"]);
  });
});

describe("health checks of running processes", () => {
  it("restart_after failures in a row restart the process whatever its policy; health is shown", async () => {
    const sup = newSupervisor();
    const port = await freePort();
    // Nothing listens on the port: every check is refused.
    await sup.create(
      testConfig("sick", ["sleep", "100"], {
        restart: "never",
        restartSec: 0.1,
        healthCheck: {
          type: "tcp",
          host: "127.0.0.1",
          port,
          intervalSec: 0.1,
          timeoutSec: 1,
          retries: 1,
          startPeriodSec: 0,
          restartAfter: 3,
          method: "GET",
          expectedStatus: 200,
          args: [],
        },
      }),
    );
    const first = await sup.start("sick");
    const unhealthy = await new Promise<string>((done) => {
      const listener = ({
        process: p,
        health,
      }: {
        process: { name: string };
        health: { status: string };
      }) => {
        if (p.name === "sick" && health.status === "unhealthy") {
          sup.off("health", listener);
          done(health.status);
        }
      };
      sup.on("health", listener);
    });
    assert.equal(unhealthy, "unhealthy");
    await until(() => sup.get("sick").restartCount === 1 && sup.get("sick").state === "running");
    const after = sup.get("sick");
    assert.notEqual(after.pid, first.pid);
    assert.match(after.lastExit?.failure ?? "", /health check failed 3 times in a row/);
    assert.equal(after.lastExit?.success, false);
    assert.equal(after.consecutiveFailures, 1);
    await sup.stop("sick");
  });
});
