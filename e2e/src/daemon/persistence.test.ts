import * as assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, describe, test } from "node:test";
import { ProcessState } from "@procmgr/rpc";
import {
  type DaemonDirs,
  makeDaemonDirs,
  pidAlive,
  pidsRunning,
  removeDaemonDirs,
  startDaemon,
  stopAllDaemons,
} from "../harness/daemon.js";

describe("dd-procmgrd: API processes survive restarts; a crash leaves exactly one instance", () => {
  let dirs: DaemonDirs;
  // Unique arguments so that /proc tells our processes apart from anything else.
  const tag = String(400000 + Math.floor(Math.random() * 500000));
  const apiArgv = ["sleep", `${tag}1`];
  const cfgArgv = ["sleep", `${tag}2`];
  const config = `processes:\n  fromfile:\n    command: ${cfgArgv.join(" ")}\n    auto_start: true\n`;

  after(async () => {
    await stopAllDaemons();
    if (dirs !== undefined) await removeDaemonDirs(dirs);
  });

  test("graceful restart restores API processes with their desired state", async () => {
    dirs = await makeDaemonDirs();
    const d1 = await startDaemon({ dirs, config });
    const c1 = await d1.connect("unix");
    const kept = await c1.client.create({
      spec: { name: "keeper", command: apiArgv.join(" "), autoStart: true },
    });
    await c1.client.create({ spec: { name: "idle", command: "sleep 1" } });
    const oldPid = kept.process?.pid ?? 0;
    assert.ok(oldPid > 0);
    assert.deepEqual((await d1.stop()).code, 0);
    assert.equal(pidAlive(oldPid), false);
    assert.equal(existsSync(dirs.socketPath), false);
    assert.equal(existsSync(dirs.tokenPath), false);

    const d2 = await startDaemon({ dirs });
    const c2 = await d2.connect("unix");
    const list = (await c2.client.list({})).processes;
    const byName = new Map(list.map((p) => [p.name, p]));
    assert.deepEqual([...byName.keys()].sort(), ["fromfile", "idle", "keeper"]);
    assert.equal(byName.get("keeper")?.state, ProcessState.RUNNING);
    assert.equal(byName.get("keeper")?.id, kept.process?.id);
    assert.notEqual(byName.get("idle")?.state, ProcessState.RUNNING);
    assert.deepEqual(await pidsRunning(apiArgv), [byName.get("keeper")?.pid]);
    await d2.stop();
  });

  test("after SIGKILL of the daemon and a restart: one instance of each, old pids gone", async () => {
    const d1 = await startDaemon({ dirs });
    const c1 = await d1.connect("unix");
    const before = new Map((await c1.client.list({})).processes.map((p) => [p.name, p.pid]));
    const oldApi = before.get("keeper") as number;
    const oldCfg = before.get("fromfile") as number;
    assert.ok(oldApi > 0 && oldCfg > 0);
    c1.close();
    await d1.crash();

    const d2 = await startDaemon({ dirs });
    const c2 = await d2.connect("unix");
    const after = new Map((await c2.client.list({})).processes.map((p) => [p.name, p]));
    assert.equal(after.get("keeper")?.state, ProcessState.RUNNING);
    assert.equal(after.get("fromfile")?.state, ProcessState.RUNNING);
    assert.equal(pidAlive(oldApi), false);
    assert.equal(pidAlive(oldCfg), false);
    assert.deepEqual(await pidsRunning(apiArgv), [after.get("keeper")?.pid]);
    assert.deepEqual(await pidsRunning(cfgArgv), [after.get("fromfile")?.pid]);
    await d2.stop();
    assert.deepEqual(await pidsRunning(apiArgv), []);
    assert.deepEqual(await pidsRunning(cfgArgv), []);
  });
});
