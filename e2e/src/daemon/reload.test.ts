import * as assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { type ProcessManagerConnection, ProcessState } from "@procmgr/rpc";
import {
  type DaemonInstance,
  pidAlive,
  removeDaemonDirs,
  startDaemon,
  stopAllDaemons,
} from "../harness/daemon.js";

function yaml(procs: Record<string, string>): string {
  let out = "processes:\n";
  for (const [name, command] of Object.entries(procs)) {
    out += `  ${name}:\n    command: ${command}\n    auto_start: true\n`;
  }
  return out;
}

async function pids(c: ProcessManagerConnection): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of (await c.client.list({})).processes) {
    if (p.state === ProcessState.RUNNING) out[p.name] = p.pid;
  }
  return out;
}

describe("dd-procmgrd: reload applies exactly the diff", () => {
  let d: DaemonInstance;
  let c: ProcessManagerConnection;

  before(async () => {
    d = await startDaemon({
      config: yaml({ keep: "sleep 301", change: "sleep 302", drop: "sleep 303" }),
    });
    c = await d.connect("unix");
  });
  after(async () => {
    await stopAllDaemons();
    await removeDaemonDirs(d);
  });

  test("by RPC: changed restarts, unchanged keeps its pid, removed stops, new starts", async () => {
    const before = await pids(c);
    assert.deepEqual(Object.keys(before).sort(), ["change", "drop", "keep"]);
    await writeFile(
      d.configPath,
      yaml({ keep: "sleep 301", change: "sleep 312", added: "sleep 304" }),
    );
    const diff = await c.client.reloadConfig({});
    assert.deepEqual(
      [diff.added, diff.removed, diff.changed, diff.unchanged],
      [["added"], ["drop"], ["change"], ["keep"]],
    );
    const now = await pids(c);
    assert.deepEqual(Object.keys(now).sort(), ["added", "change", "keep"]);
    assert.equal(now.keep, before.keep);
    assert.notEqual(now.change, before.change);
    assert.equal(pidAlive(before.change as number), false);
    assert.equal(pidAlive(before.drop as number), false);
  });

  test("by RPC: a broken file changes nothing and the caller gets every error", async () => {
    const before = await pids(c);
    await writeFile(
      d.configPath,
      `${yaml({ keep: "sleep 999" })}    restart: sometimes\n  x: {}\n`,
    );
    try {
      await c.client.reloadConfig({});
      assert.fail("expected FAILED_PRECONDITION");
    } catch (e) {
      const ce = ConnectError.from(e);
      assert.equal(Code[ce.code], Code[Code.FailedPrecondition]);
      assert.match(ce.rawMessage, /processes\.keep\.restart/);
      assert.match(ce.rawMessage, /processes\.x/);
    }
    assert.deepEqual(await pids(c), before);
    assert.match(d.output(), /config reload refused/);
  });

  test("by SIGHUP: same path; a broken file keeps the running config", async () => {
    const before = await pids(c);
    let from = d.output().length;
    await writeFile(
      d.configPath,
      yaml({ keep: "sleep 301", change: "sleep 312", hup: "sleep 305" }),
    );
    d.signal("SIGHUP");
    const applied = await d.waitForOutput(/config applied/, from);
    assert.match(applied, /added=hup removed=added/);
    const now = await pids(c);
    assert.deepEqual(Object.keys(now).sort(), ["change", "hup", "keep"]);
    assert.equal(now.keep, before.keep);
    assert.equal(now.change, before.change);

    from = d.output().length;
    await writeFile(d.configPath, "processes: [not, a, map]\n");
    d.signal("SIGHUP");
    await d.waitForOutput(/config reload refused/, from);
    assert.deepEqual(await pids(c), now);
  });
});
