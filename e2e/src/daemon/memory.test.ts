import * as assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ProcessManagerConnection, ProcessState } from "@procmgr/rpc";
import {
  type DaemonInstance,
  pidAlive,
  removeDaemonDirs,
  startDaemon,
  stopAllDaemons,
} from "../harness/daemon.js";

const N = 100;
const names = Array.from({ length: N }, (_, i) => `nap${String(i).padStart(3, "0")}`);
const config = `processes:\n${names.map((n) => `  ${n}:\n    command: sleep 100000\n`).join("")}`;

function usedMib(line: string): { before: number; after: number } {
  const m = /used_before_mib=([\d.]+) used_after_mib=([\d.]+)/.exec(line);
  assert.ok(m, `no heap figures in: ${line}`);
  return { before: Number(m[1]), after: Number(m[2]) };
}

describe("dd-procmgrd: memory after a burst of work", () => {
  let d: DaemonInstance;
  let c: ProcessManagerConnection;

  before(async () => {
    d = await startDaemon({ config, env: { PM_LOG_LEVEL: "debug" } });
    c = await d.connect("unix");
  });
  after(async () => {
    await stopAllDaemons();
    await removeDaemonDirs(d);
  });

  test(`starting and stopping ${N} processes is followed by one full collection once quiet`, {
    timeout: 60_000,
  }, async () => {
    // The garbage of the start-up is collected first.
    await d.waitForOutput(/debug heap compacted/);
    const from = d.output().length;

    const started = await c.client.start({ ids: names });
    const pids = started.processes.map((p) => p.pid);
    assert.equal(pids.length, N);
    assert.ok(pids.every((pid) => pid > 0 && pidAlive(pid)));
    const stopped = await c.client.stop({ ids: names });
    assert.ok(stopped.processes.every((p) => p.state === ProcessState.STOPPED));
    assert.ok(pids.every((pid) => !pidAlive(pid)));

    const line = await d.waitForOutput(/debug heap compacted/, from);
    const { before, after: left } = usedMib(line);
    assert.ok(left < before, `the collection freed memory: ${line}`);
  });
});
