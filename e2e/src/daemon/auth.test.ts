import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import {
  type DaemonInstance,
  removeDaemonDirs,
  startDaemon,
  stopAllDaemons,
} from "../harness/daemon.js";
import { grpcJsClient } from "../harness/grpc-js.js";

const run = promisify(execFile);

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (e) {
    return Code[ConnectError.from(e).code] ?? "?";
  }
}

/** A client run as `nobody`: what can it read, open and call? Prints one JSON line. */
const nobodyClient = (rpcEntry: string) => `
import { readFileSync } from "node:fs";
import { createConnection } from "node:net";
const { createProcessManagerConnection } = await import(${JSON.stringify(rpcEntry)});
const [tcp, socketPath, tokenPath] = process.argv.slice(2);
const out = { uid: process.getuid() };
try { readFileSync(tokenPath); out.token = "READ"; } catch (e) { out.token = e.code; }
out.socket = await new Promise((res) => {
  const s = createConnection({ path: socketPath });
  s.once("connect", () => { s.destroy(); res("CONNECTED"); });
  s.once("error", (e) => res(e.code));
});
const c = createProcessManagerConnection(tcp);
try { await c.client.create({ spec: { name: "evil", command: "id" } }); out.create = "OK"; }
catch (e) { out.create = e.code; out.createMessage = e.rawMessage; }
try { out.list = (await c.client.list({})).processes.length; } catch (e) { out.list = e.code; }
c.close();
console.log(JSON.stringify(out));
`;

describe("dd-procmgrd: who may do what", () => {
  let d: DaemonInstance;

  before(async () => {
    d = await startDaemon({
      openDirs: true,
      config:
        "processes:\n  secretive:\n    command: sleep 300\n    env:\n      API_KEY: hunter2\n",
    });
  });
  after(async () => {
    await stopAllDaemons();
    await removeDaemonDirs(d);
  });

  test("TCP: mutating calls need the token; reads are open and redact env", async () => {
    const anon = await d.connect("tcp");
    const admin = await d.connect("tcp+token");
    assert.equal(
      await code(anon.client.create({ spec: { name: "a", command: "sleep 1" } })),
      "Unauthenticated",
    );
    assert.equal(await code(anon.client.start({ id: "secretive" })), "Unauthenticated");
    assert.equal(await code(anon.client.reloadConfig({})), "Unauthenticated");
    assert.equal(
      await code(admin.client.create({ spec: { name: "a", command: "sleep 1" } })),
      "OK",
    );
    assert.equal((await anon.client.list({})).processes.length, 2);
    const hidden = await anon.client.describe({ id: "secretive" });
    assert.equal(hidden.spec?.env.API_KEY, "<redacted>");
    assert.equal(hidden.envRedacted, true);
    const shown = await admin.client.describe({ id: "secretive" });
    assert.equal(shown.spec?.env.API_KEY, "hunter2");
    const unix = await d.connect("unix");
    assert.equal((await unix.client.describe({ id: "secretive" })).spec?.env.API_KEY, "hunter2");
    assert.equal(await code(unix.client.delete({ id: "a" })), "OK");
  });

  test("a non-root user can neither read the token nor open the socket, and is refused", async () => {
    const script = join(d.dir, "nobody-client.mjs");
    const rpcEntry = import.meta.resolve("@procmgr/rpc");
    await writeFile(script, nobodyClient(rpcEntry), { mode: 0o644 });
    const { stdout } = await run("setpriv", [
      "--reuid=nobody",
      "--regid=nogroup",
      "--clear-groups",
      process.execPath,
      script,
      d.tcpAddress,
      d.socketPath,
      d.tokenPath,
    ]);
    const out = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal(out.uid, 65534);
    assert.equal(out.token, "EACCES");
    assert.equal(out.socket, "EACCES");
    assert.equal(out.create, Code.Unauthenticated);
    assert.match(String(out.createMessage), /run pm-cli with sudo/);
    assert.equal(out.list, 1);
  });

  test("a gRPC client of another implementation (grpc-js + the committed .proto)", async () => {
    const client = await grpcJsClient(d.tcpAddress, { longs: String });
    const call = client.call;
    try {
      const list = await call("List", {});
      const names = (list.processes as { name: string; state: string }[]).map((p) => [
        p.name,
        p.state,
      ]);
      assert.deepEqual(names, [["secretive", "PROCESS_STATE_CREATED"]]);
      await assert.rejects(
        call("Create", { spec: { name: "g", command: "sleep 300" } }),
        (e: unknown) => {
          return (e as grpc.ServiceError).code === grpc.status.UNAUTHENTICATED;
        },
      );
      const md = new grpc.Metadata();
      md.set("authorization", `Bearer ${await d.token()}`);
      const created = await call(
        "Create",
        { spec: { name: "g", command: "sleep 300", auto_start: true } },
        md,
      );
      const proc = created.process as { name: string; state: string; pid: number };
      assert.equal(proc.name, "g");
      assert.equal(proc.state, "PROCESS_STATE_RUNNING");
      assert.ok(proc.pid > 0);
    } finally {
      client.close();
    }
  });
});
