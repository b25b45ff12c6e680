import { strict as assert } from "node:assert";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  createProcessManagerClient,
  createProcessManagerConnection,
  discoverDaemon,
  formatAddress,
  parseAddress,
  RpcClientError,
} from "./client.js";
import {
  EventType,
  ProcessManager,
  ProcessState,
  ProcessStatusSchema,
  WatchEventsResponseSchema,
} from "./gen/procmgr/v1/process_manager_pb.js";

// A tiny fake ProcessManager: this file tests the client, not the daemon.
function fakeHandler() {
  return connectNodeAdapter({
    routes(router) {
      router.service(ProcessManager, {
        list: () => ({
          processes: [
            create(ProcessStatusSchema, { id: "a1", name: "web", state: ProcessState.RUNNING }),
          ],
        }),
        getStatus: (_req, ctx) => ({
          ready: true,
          version: ctx.requestHeader.get("authorization") ?? "none",
        }),
        create: (req, ctx) => {
          if (ctx.requestHeader.get("authorization") !== "Bearer s3cret") {
            throw new ConnectError("use sudo", Code.Unauthenticated);
          }
          return {
            process: create(ProcessStatusSchema, { name: req.spec?.name ?? "", id: "b2" }),
          };
        },
        async *watchEvents(req) {
          for (const id of req.ids) {
            yield create(WatchEventsResponseSchema, {
              type: EventType.CREATED,
              processName: id,
            });
          }
        },
      });
    },
  });
}

async function listen(server: http.Server, target: number | string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(target, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe("parseAddress", () => {
  it("reads unix sockets, host:port and bracketed IPv6", () => {
    assert.deepEqual(parseAddress("unix:/run/x.sock"), { kind: "unix", path: "/run/x.sock" });
    assert.deepEqual(parseAddress("unix:///run/x.sock"), { kind: "unix", path: "/run/x.sock" });
    assert.deepEqual(parseAddress("/tmp/d.sock"), { kind: "unix", path: "/tmp/d.sock" });
    assert.deepEqual(parseAddress("127.0.0.1:50051"), {
      kind: "tcp",
      host: "127.0.0.1",
      port: 50051,
    });
    assert.deepEqual(parseAddress("localhost:1"), { kind: "tcp", host: "localhost", port: 1 });
    assert.deepEqual(parseAddress("[::1]:9000"), { kind: "tcp", host: "::1", port: 9000 });
    assert.deepEqual(parseAddress("http://10.0.0.2:80/"), {
      kind: "tcp",
      host: "10.0.0.2",
      port: 80,
    });
  });

  it("round-trips through formatAddress", () => {
    for (const s of ["unix:/a/b.sock", "127.0.0.1:50051", "[::1]:9000"]) {
      assert.equal(formatAddress(parseAddress(s)), s);
    }
  });

  it("rejects bad input naming the value", () => {
    for (const s of ["", "localhost", "host:http", "host:70000", "unix:rel.sock", "::1:80"]) {
      assert.throws(
        () => parseAddress(s),
        (e: unknown) =>
          e instanceof RpcClientError &&
          e.code === "invalid-address" &&
          e.message.includes(JSON.stringify(s)),
      );
    }
  });
});

describe("createProcessManagerClient", () => {
  let dir: string;
  let tcp: http.Server;
  let unix: http.Server;
  let port: number;
  let socketPath: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rpc-client-"));
    socketPath = join(dir, "dd-procmgrd.sock");
    tcp = http.createServer(fakeHandler());
    unix = http.createServer(fakeHandler());
    await listen(tcp, 0);
    await listen(unix, socketPath);
    port = (tcp.address() as AddressInfo).port;
  });

  after(async () => {
    await closeServer(tcp);
    await closeServer(unix);
    await rm(dir, { recursive: true, force: true });
  });

  it("calls over TCP (port 0)", async () => {
    const conn = createProcessManagerConnection(`127.0.0.1:${port}`);
    try {
      const res = await conn.client.list({});
      assert.deepEqual(
        res.processes.map((p) => [p.name, p.state]),
        [["web", ProcessState.RUNNING]],
      );
    } finally {
      conn.close();
    }
  });

  it("calls over a unix socket", async () => {
    const conn = createProcessManagerConnection({ kind: "unix", path: socketPath });
    try {
      const res = await conn.client.getStatus({});
      assert.equal(res.ready, true);
      assert.equal(res.version, "none");
    } finally {
      conn.close();
    }
  });

  it("sends the bearer token when given one", async () => {
    const conn = createProcessManagerConnection(`unix:${socketPath}`, { token: "s3cret" });
    try {
      const res = await conn.client.create({ spec: { name: "x", command: "true" } });
      assert.equal(res.process?.name, "x");
      assert.equal((await conn.client.getStatus({})).version, "Bearer s3cret");
    } finally {
      conn.close();
    }
  });

  it("surfaces UNAUTHENTICATED without a token", async () => {
    const conn = createProcessManagerConnection(`127.0.0.1:${port}`);
    try {
      await assert.rejects(
        conn.client.create({ spec: { name: "x", command: "true" } }),
        (e: unknown) => ConnectError.from(e).code === Code.Unauthenticated,
      );
    } finally {
      conn.close();
    }
  });

  it("reads server streams", async () => {
    const conn = createProcessManagerConnection(`127.0.0.1:${port}`);
    try {
      const names: string[] = [];
      for await (const ev of conn.client.watchEvents({ ids: ["a", "b"] })) {
        names.push(ev.processName);
      }
      assert.deepEqual(names, ["a", "b"]);
    } finally {
      conn.close();
    }
  });

  it("answers UNAVAILABLE when nothing listens", async () => {
    const client = createProcessManagerClient({ kind: "unix", path: join(dir, "nope.sock") });
    await assert.rejects(
      client.list({}),
      (e: unknown) => ConnectError.from(e).code === Code.Unavailable,
    );
  });

  it("rejects a bad timeout", () => {
    assert.throws(
      () => createProcessManagerClient(`127.0.0.1:${port}`, { timeoutMs: -1 }),
      RpcClientError,
    );
  });
});

describe("discoverDaemon", () => {
  let dir: string;
  let server: http.Server;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rpc-discover-"));
    server = http.createServer(fakeHandler());
    await listen(server, join(dir, "dd-procmgrd.sock"));
  });

  after(async () => {
    await closeServer(server);
    await rm(dir, { recursive: true, force: true });
  });

  it("honours PM_ADDRESS and reads the token from PM_TOKEN_PATH", async () => {
    const tokenPath = join(dir, "tok");
    await writeFile(tokenPath, "abc\n");
    const d = await discoverDaemon({ PM_ADDRESS: "127.0.0.1:1234", PM_TOKEN_PATH: tokenPath }, 0);
    assert.deepEqual(d.address, { kind: "tcp", host: "127.0.0.1", port: 1234 });
    assert.equal(d.token, "abc");
  });

  it("prefers the user's connectable socket", async () => {
    const d = await discoverDaemon({ XDG_RUNTIME_DIR: dir }, 1000);
    assert.deepEqual(d.address, { kind: "unix", path: join(dir, "dd-procmgrd.sock") });
    assert.equal(d.token, undefined);
    assert.deepEqual(d.searched, [`unix:${join(dir, "dd-procmgrd.sock")}`]);
  });

  it("falls back to 127.0.0.1:50051 with the token of the runtime dir", async () => {
    const empty = await mkdtemp(join(tmpdir(), "rpc-discover-empty-"));
    try {
      await writeFile(join(empty, "dd-procmgrd.token"), "feed\n");
      const d = await discoverDaemon({ PM_RUNTIME_DIR: empty, XDG_RUNTIME_DIR: empty }, 1000);
      assert.deepEqual(d.address, { kind: "tcp", host: "127.0.0.1", port: 50051 });
      assert.equal(d.token, "feed");
      assert.equal(d.searched[0], `unix:${join(empty, "dd-procmgrd.sock")}`);
      assert.equal(d.searched.at(-1), "127.0.0.1:50051");
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
