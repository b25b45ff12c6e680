import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import * as http from "node:http";
import type * as net from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
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
import { tlsFailureOf } from "./tls-failure.js";

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

  it("reads https://host:port as TLS", () => {
    assert.deepEqual(parseAddress("https://10.0.0.2:50051"), {
      kind: "tcp",
      host: "10.0.0.2",
      port: 50051,
      tls: true,
    });
    assert.deepEqual(parseAddress("https://[::1]:9000/"), {
      kind: "tcp",
      host: "::1",
      port: 9000,
      tls: true,
    });
  });

  it("round-trips through formatAddress", () => {
    for (const s of [
      "unix:/a/b.sock",
      "127.0.0.1:50051",
      "[::1]:9000",
      "https://127.0.0.1:50051",
      "https://[::1]:9000",
    ]) {
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

  it("refuses TLS options for an address that is not https://, and a cert without its key", () => {
    assert.throws(
      () => createProcessManagerConnection(`127.0.0.1:${port}`, { tls: { ca: "x" } }),
      (e: unknown) =>
        e instanceof RpcClientError &&
        e.code === "invalid-option" &&
        e.message.includes(`need an https:// address (received 127.0.0.1:${port})`),
    );
    assert.throws(
      () => createProcessManagerConnection(`https://127.0.0.1:${port}`, { tls: { cert: "x" } }),
      (e: unknown) => e instanceof RpcClientError && /needs its key/.test(e.message),
    );
  });

  it("names a cleartext daemon behind an https:// address (a real handshake)", async () => {
    const conn = createProcessManagerConnection(`https://127.0.0.1:${port}`);
    try {
      const failure = await conn.client.list({}).then(
        () => undefined,
        (e: unknown) => tlsFailureOf(e, true),
      );
      assert.equal(failure?.kind, "not-tls");
      assert.match(failure?.reason ?? "", /wrong version number/);
    } finally {
      conn.close();
    }
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

/** A daemon stand-in on a unix socket that records what the client did to it. */
class FakeDaemon {
  readonly sockets = new Set<net.Socket>();
  connectionsOpened = 0;
  /** One promise per endless stream, resolved when its call ends on the daemon's side. */
  readonly streamEnded: Promise<unknown>[] = [];
  private onFirstEvent: (() => void) | undefined;
  readonly server: http.Server;

  constructor() {
    this.server = http.createServer(
      connectNodeAdapter({
        routes: (router) => {
          router.service(ProcessManager, {
            getStatus: () => ({ ready: true, version: "x".repeat(100_000) }),
            // One event, then nothing until the call ends.
            watchEvents: (_req, ctx) => this.endless(ctx.signal),
          });
        },
      }),
    );
    this.server.on("connection", (s: net.Socket) => {
      this.connectionsOpened++;
      this.sockets.add(s);
      s.once("close", () => this.sockets.delete(s));
    });
  }

  private async *endless(signal: AbortSignal) {
    this.streamEnded.push(
      new Promise((resolve) => signal.addEventListener("abort", () => resolve(signal.reason))),
    );
    yield create(WatchEventsResponseSchema, { type: EventType.CREATED, processName: "a" });
    this.onFirstEvent?.();
    await new Promise((resolve) => signal.addEventListener("abort", resolve));
  }

  /** Calls `f` once the next endless stream has sent its event. */
  afterFirstEvent(f: () => void): void {
    this.onFirstEvent = () => {
      this.onFirstEvent = undefined;
      f();
    };
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Runs `script` (an ES module) in a fresh Node; its stdout, and whether it ended by itself. */
async function runNode(script: string, uid?: number): Promise<{ out: string; code: unknown }> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
    ...(uid !== undefined ? { uid, gid: uid } : {}),
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const [code, signal] = await once(child, "exit");
  clearTimeout(timer);
  assert.equal(signal, null, "the process had to be killed: it hung");
  return { out: out.trim(), code };
}

describe("the connection's calls (connect-node over HTTP/1.1)", () => {
  let dir: string;
  let socketPath: string;
  let daemon: FakeDaemon;
  const clientJs = fileURLToPath(new URL("./client.js", import.meta.url));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rpc-conn-"));
    socketPath = join(dir, "d.sock");
    daemon = new FakeDaemon();
    await listen(daemon.server, socketPath);
  });

  after(async () => {
    for (const s of daemon.sockets) s.destroy();
    await closeServer(daemon.server);
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps one connection for the calls of a connection object, closed by close()", {
    timeout: 15_000,
  }, async () => {
    const conn = createProcessManagerConnection(`unix:${socketPath}`);
    const opened = daemon.connectionsOpened;
    const first = await conn.client.getStatus({});
    const second = await conn.client.getStatus({});
    assert.equal(first.version.length, 100_000);
    assert.equal(second.version, first.version);
    assert.equal(daemon.connectionsOpened, opened + 1);
    conn.close();
    while (daemon.sockets.size > 0) await tick();
  });

  it("fails a stream whose connection breaks with UNAVAILABLE, instead of waiting forever", {
    timeout: 15_000,
  }, async () => {
    const conn = createProcessManagerConnection(`unix:${socketPath}`);
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const ev of conn.client.watchEvents({})) {
          seen.push(ev.processName);
          // The daemon goes away in the middle of the stream.
          for (const s of daemon.sockets) s.destroy();
        }
      })(),
      (e: unknown) => e instanceof ConnectError && e.code === Code.Unavailable,
    );
    assert.deepEqual(seen, ["a"]);
    conn.close();
  });

  it("ends the call on the daemon when the deadline passes", { timeout: 15_000 }, async () => {
    const conn = createProcessManagerConnection(`unix:${socketPath}`);
    const n = daemon.streamEnded.length;
    await assert.rejects(
      (async () => {
        for await (const _ of conn.client.watchEvents({}, { timeoutMs: 200 })) {
          // until the deadline
        }
      })(),
      (e: unknown) => e instanceof ConnectError && e.code === Code.DeadlineExceeded,
    );
    await daemon.streamEnded[n];
    conn.close();
  });

  it("fails open calls with CANCELED when the connection is closed", {
    timeout: 15_000,
  }, async () => {
    const conn = createProcessManagerConnection(`unix:${socketPath}`);
    const n = daemon.streamEnded.length;
    daemon.afterFirstEvent(() => conn.close());
    await assert.rejects(
      (async () => {
        for await (const _ of conn.client.watchEvents({})) {
          // until close()
        }
      })(),
      (e: unknown) => e instanceof ConnectError && e.code === Code.Canceled,
    );
    await daemon.streamEnded[n];
  });

  it("does not keep a process alive once its calls are done", { timeout: 15_000 }, async () => {
    // Calls, prints, and never closes the connection: the process must still end by itself.
    const { out, code } = await runNode(`
      const { createProcessManagerConnection } = await import(${JSON.stringify(clientJs)});
      const conn = createProcessManagerConnection(${JSON.stringify(`unix:${socketPath}`)});
      console.log((await conn.client.getStatus({})).ready);
    `);
    assert.equal(out, "true");
    assert.equal(code, 0);
  });

  it("names a socket the caller may not open PERMISSION_DENIED", {
    timeout: 15_000,
    skip: process.getuid?.() === 0 ? false : "needs root to run the caller as another user",
  }, async () => {
    // The directory is open to all, the socket to root alone (as the daemon's system socket).
    await chmod(dir, 0o755);
    await chmod(socketPath, 0o600);
    const { out } = await runNode(
      `
      const { createProcessManagerClient } = await import(${JSON.stringify(clientJs)});
      const { ConnectError, Code } = await import("@connectrpc/connect");
      try {
        await createProcessManagerClient(${JSON.stringify(`unix:${socketPath}`)}).getStatus({});
        console.log("answered");
      } catch (e) {
        console.log(Code[ConnectError.from(e).code]);
      }
    `,
      65534,
    );
    assert.equal(out, "PermissionDenied");
  });
});
