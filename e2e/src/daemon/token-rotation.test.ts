import * as assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { createProcessManagerConnection } from "@procmgr/rpc";
import { runCli } from "../cli/cli-support.js";
import {
  type DaemonInstance,
  pidAlive,
  removeDaemonDirs,
  startDaemon,
  stopAllDaemons,
} from "../harness/daemon.js";

/** What a Create with this token answers: "OK" or the code's name. */
async function createWith(d: DaemonInstance, token: string, name: string): Promise<string> {
  const c = createProcessManagerConnection(d.tcpAddress, { token });
  try {
    await c.client.create({ spec: { name, command: "sleep 300" } });
    return "OK";
  } catch (e) {
    return Code[ConnectError.from(e).code] ?? "?";
  } finally {
    c.close();
  }
}

describe("pm-cli daemon rotate-token: a new token without a restart", () => {
  let d: DaemonInstance;

  before(async () => {
    d = await startDaemon();
  });
  after(async () => {
    await stopAllDaemons();
    await removeDaemonDirs(d);
  });

  test("the old token is refused right after, the new one accepted, the daemon pid unchanged", async () => {
    const old = await d.token();
    assert.equal(await createWith(d, old, "before"), "OK");
    const env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: d.dir,
      PM_RUNTIME_DIR: d.runtimeDir,
    };
    const r = await runCli(["daemon", "rotate-token"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `rotated the token in ${d.tokenPath}: the daemon accepts only the new one from its next call on\n`,
    );
    const rotated = await d.token();
    assert.notEqual(rotated, old);
    assert.match(rotated, /^[0-9a-f]{64}$/);
    assert.equal((await stat(d.tokenPath)).mode & 0o777, 0o600);

    assert.equal(await createWith(d, old, "with-old"), "Unauthenticated");
    assert.equal(await createWith(d, rotated, "with-new"), "OK");
    // pm-cli over TCP reads the new token from the runtime dir by itself.
    const list = await runCli(["start", "before"], { env: { ...env, PM_ADDRESS: d.tcpAddress } });
    assert.equal(list.code, 0, list.stderr);

    const status = await (await d.connect("unix")).client.getStatus({});
    assert.equal(status.pid, d.pid);
    assert.ok(pidAlive(d.pid));
    await d.waitForOutput(
      /token file changed: the new token is accepted, the previous one refused/,
    );
    assert.ok(!d.output().includes(rotated), "the token is never logged");
  });
});
