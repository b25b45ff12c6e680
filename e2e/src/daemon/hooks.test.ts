import * as assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ProcessState } from "@procmgr/rpc";
import { waitFor } from "../cli/cli-support.js";
import {
  type DaemonDirs,
  makeDaemonDirs,
  pidAlive,
  pidsRunning,
  removeDaemonDirs,
  startDaemon,
  stopAllDaemons,
} from "../harness/daemon.js";

describe("dd-procmgrd: a hook running when the daemon is SIGKILLed", () => {
  let dirs: DaemonDirs | undefined;
  const hookPids: number[] = [];
  after(async () => {
    await stopAllDaemons();
    for (const pid of hookPids) if (pidAlive(pid)) process.kill(pid, "SIGKILL");
    if (dirs !== undefined) await removeDaemonDirs(dirs);
  });

  test("is gone after the restart, and the process runs exactly once", async () => {
    dirs = await makeDaemonDirs();
    // Unique arguments so that /proc tells our processes apart from anything else.
    const tag = String(400000 + Math.floor(Math.random() * 500000));
    const hookArgv = ["sleep", `${tag}1`];
    const mainArgv = ["sleep", `${tag}2`];
    // The first run's hook sleeps (until the daemon dies); the next one's succeeds at once.
    const marker = join(dirs.dir, "slept");
    const hook = `[ -e ${marker} ] && exit 0; touch ${marker}; exec ${hookArgv.join(" ")}`;
    const config = `processes:\n  hooked:\n    command: ${mainArgv.join(" ")}\n    auto_start: true\n    exec_start_pre: ${JSON.stringify([["sh", "-c", hook]])}\n`;
    const d1 = await startDaemon({ dirs, config });
    const [hookPid = 0] = await waitFor("the hook to run", async () => {
      const pids = await pidsRunning(hookArgv);
      return pids.length > 0 ? pids : undefined;
    });
    hookPids.push(hookPid);
    await d1.crash();
    assert.equal(pidAlive(hookPid), true, "the crash took the hook with it");

    const d2 = await startDaemon({ dirs });
    const c2 = await d2.connect("unix");
    const running = await waitFor("hooked to run", async () => {
      const p = (await c2.client.list({})).processes.find((x) => x.name === "hooked");
      return p?.state === ProcessState.RUNNING ? p : undefined;
    });
    assert.equal(pidAlive(hookPid), false);
    assert.deepEqual(await pidsRunning(hookArgv), []);
    assert.deepEqual(await pidsRunning(mainArgv), [running.pid]);
    await d2.stop();
    assert.deepEqual(await pidsRunning(mainArgv), []);
  });
});
