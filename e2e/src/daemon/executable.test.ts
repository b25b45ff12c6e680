/**
 * The daemon's single executable (what the installation guide installs) serves every protocol of
 * the one port, through the same code as `node bin/dd-procmgrd.js` but bundled, with prom-client
 * loaded only when metrics are on. Skipped, saying why, when `pnpm build` has not made it.
 */
import * as assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import {
  type DaemonInstance,
  daemonExecutable,
  removeDaemonDirs,
  startDaemon,
  stopAllDaemons,
} from "../harness/daemon.js";
import { grpcJsClient } from "../harness/grpc-js.js";

const skip = existsSync(daemonExecutable)
  ? false
  : `not built: ${daemonExecutable} (run pnpm build)`;

/** POST a Connect JSON request over HTTP/1.1 on the unix socket, as curl does. */
function connectJson(
  socketPath: string,
  method: string,
  body: object,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        method: "POST",
        path: `/procmgr.v1.ProcessManager/${method}`,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

describe("dd-procmgrd as a single executable: every protocol on one port", { skip }, () => {
  let d: DaemonInstance;

  before(async () => {
    d = await startDaemon({
      executable: true,
      metrics: true,
      config: "processes:\n  web:\n    command: sleep 300\n    auto_start: true\n",
    });
  });
  after(async () => {
    await stopAllDaemons();
    if (d !== undefined) await removeDaemonDirs(d);
  });

  test("Connect over HTTP/1.1 (pm-cli's client): unary, a server stream, errors", async () => {
    const c = await d.connect("unix");
    try {
      const list = (await c.client.list({})).processes;
      assert.deepEqual(
        list.map((p) => p.name),
        ["web"],
      );
      assert.ok(list[0] !== undefined && list[0].pid > 0);
      const events: string[] = [];
      const ac = new AbortController();
      const stream = (async () => {
        for await (const ev of c.client.watchEvents({ ids: ["web"] }, { signal: ac.signal })) {
          events.push(ev.processName);
          ac.abort();
        }
      })().catch((e: unknown) => {
        if (ConnectError.from(e).code !== Code.Canceled) throw e;
      });
      await c.client.restart({ ids: ["web"] });
      await stream;
      assert.deepEqual(events.slice(0, 1), ["web"]);
      await assert.rejects(
        c.client.describe({ id: "nope" }),
        (e: unknown) => ConnectError.from(e).code === Code.NotFound,
      );
    } finally {
      c.close();
    }
  });

  test("Connect JSON over HTTP/1.1 (curl)", async () => {
    const res = await connectJson(d.socketPath, "List", {});
    assert.equal(res.status, 200);
    const names = (res.json.processes as { name: string }[]).map((p) => p.name);
    assert.deepEqual(names, ["web"]);
    const bad = await connectJson(d.socketPath, "Describe", { id: "nope" });
    assert.equal(bad.status, 404);
    assert.equal(bad.json.code, "not_found");
  });

  test("gRPC over HTTP/2 (grpc-js), with the token's header on TCP", async () => {
    const client = await grpcJsClient(d.tcpAddress);
    const call = client.call;
    try {
      const list = await call("List", {});
      assert.deepEqual(
        (list.processes as { name: string }[]).map((p) => p.name),
        ["web"],
      );
      await assert.rejects(
        call("Stop", { ids: ["web"] }),
        (e: unknown) => (e as grpc.ServiceError).code === grpc.status.UNAUTHENTICATED,
      );
      const md = new grpc.Metadata();
      md.set("authorization", `Bearer ${await d.token()}`);
      const stopped = await call("Stop", { ids: ["web"] }, md);
      assert.deepEqual(
        (stopped.processes as { state: string }[]).map((p) => p.state),
        ["PROCESS_STATE_STOPPED"],
      );
    } finally {
      client.close();
    }
  });

  test("metrics, loaded only when enabled, are served", async () => {
    assert.ok(d.metricsAddress, "the daemon said where it serves metrics");
    const res = await fetch(`http://${d.metricsAddress}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /procmgr_process_state\{name="web",state="[a-z]+"\} 1/);
  });
});
