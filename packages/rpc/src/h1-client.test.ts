import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import * as http from "node:http";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createProcessManagerConnection } from "./client.js";
import {
  EventType,
  GetStatusResponseSchema,
  ProcessManager,
  WatchEventsResponseSchema,
} from "./gen/procmgr/v1/process_manager_pb.js";

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

/** A server that answers every connection with `answer` (raw bytes, written as it says). */
async function rawServer(
  path: string,
  answer: (socket: net.Socket, request: Promise<string>) => Promise<void>,
): Promise<net.Server> {
  const server = net.createServer((socket) => {
    let text = "";
    const request = new Promise<string>((resolve) => {
      socket.on("data", (d: Buffer) => {
        text += d.toString("latin1");
        const end = text.indexOf("\r\n\r\n");
        const m = /content-length: (\d+)/i.exec(text);
        if (end >= 0 && text.length >= end + 4 + Number(m?.[1] ?? 0)) resolve(text);
      });
    });
    socket.on("error", () => {});
    void answer(socket, request);
  });
  server.listen(path);
  await once(server, "listening");
  return server;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("H1Client (the client's HTTP/1.1 connections)", () => {
  let dir: string;
  let socketPath: string;
  let daemon: FakeDaemon;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rpc-h1-"));
    socketPath = join(dir, "d.sock");
    daemon = new FakeDaemon();
    daemon.server.listen(socketPath);
    await once(daemon.server, "listening");
  });

  after(async () => {
    for (const s of daemon.sockets) s.destroy();
    await new Promise((resolve) => daemon.server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  /** One GetStatus call to a raw server on `name` that answers with `answer`; closed after. */
  async function getStatusFrom(
    name: string,
    answer: (socket: net.Socket, request: Promise<string>) => Promise<void>,
  ) {
    const path = join(dir, name);
    const server = await rawServer(path, answer);
    try {
      return await createProcessManagerConnection(`unix:${path}`).client.getStatus({});
    } finally {
      server.close();
    }
  }

  it("opens one connection per call and closes it with the answer", {
    timeout: 15_000,
  }, async () => {
    const conn = createProcessManagerConnection(`unix:${socketPath}`);
    const opened = daemon.connectionsOpened;
    const first = await conn.client.getStatus({});
    const second = await conn.client.getStatus({});
    assert.equal(first.version.length, 100_000);
    assert.equal(second.version, first.version);
    assert.equal(daemon.connectionsOpened, opened + 2);
    // Nothing stays open on either side once the answers are read.
    while (daemon.sockets.size > 0) await tick();
  });

  it("fails a call whose connection breaks (UNAVAILABLE), instead of waiting forever", {
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
    const client = fileURLToPath(new URL("./client.js", import.meta.url));
    // Calls, prints, and never closes the connection: the process must still end by itself.
    const script = `
      const { createProcessManagerConnection } = await import(${JSON.stringify(client)});
      const conn = createProcessManagerConnection(${JSON.stringify(`unix:${socketPath}`)});
      console.log((await conn.client.getStatus({})).ready);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const [code, signal] = await once(child, "exit");
    clearTimeout(timer);
    assert.equal(out.trim(), "true");
    assert.deepEqual([code, signal], [0, null], "the process had to be killed: it hung");
  });

  it("reads a chunked answer with trailers that arrives a byte at a time", {
    timeout: 15_000,
  }, async () => {
    const body = Buffer.from(
      toBinary(
        GetStatusResponseSchema,
        create(GetStatusResponseSchema, { ready: true, version: "v9" }),
      ),
    );
    const res = await getStatusFrom("chunked.sock", async (socket, request) => {
      await request;
      const half = Math.floor(body.length / 2);
      const bytes = Buffer.concat([
        Buffer.from(
          "HTTP/1.1 200 OK\r\nContent-Type: application/proto\r\nTransfer-Encoding: chunked\r\n\r\n",
        ),
        Buffer.from(`${half.toString(16)};ext=1\r\n`),
        body.subarray(0, half),
        Buffer.from(`\r\n${(body.length - half).toString(16)}\r\n`),
        body.subarray(half),
        Buffer.from("\r\n0\r\nx-checked: yes\r\n\r\n"),
      ]);
      for (const b of bytes) {
        socket.write(Buffer.from([b]));
        await tick();
      }
      socket.end();
    });
    assert.equal(res.version, "v9");
  });

  it("fails an answer cut short of its content-length (UNAVAILABLE)", {
    timeout: 15_000,
  }, async () => {
    await assert.rejects(
      getStatusFrom("short.sock", async (socket, request) => {
        await request;
        socket.end(
          "HTTP/1.1 200 OK\r\nContent-Type: application/proto\r\nContent-Length: 10\r\n\r\n\x08\x01",
        );
      }),
      (e: unknown) => e instanceof ConnectError && e.code === Code.Unavailable,
    );
  });

  it("fails a malformed answer (INTERNAL, naming what was wrong)", {
    timeout: 15_000,
  }, async () => {
    await assert.rejects(
      getStatusFrom("bad.sock", async (socket, request) => {
        await request;
        socket.end("SSH-2.0-OpenSSH_9.6\r\n\r\n");
      }),
      (e: unknown) =>
        e instanceof ConnectError &&
        e.code === Code.Internal &&
        /malformed HTTP response from the daemon: unexpected status line "SSH-2.0/.test(
          e.rawMessage,
        ),
    );
  });

  it("sends the request as HTTP/1.1 and refuses a token that would inject a header", {
    timeout: 15_000,
  }, async () => {
    const path = join(dir, "echo.sock");
    const requests: string[] = [];
    const server = await rawServer(path, async (socket, request) => {
      requests.push(await request);
      socket.end("HTTP/1.1 200 OK\r\nContent-Type: application/proto\r\nContent-Length: 0\r\n\r\n");
    });
    try {
      const good = createProcessManagerConnection(`unix:${path}`, { token: "s3cret" });
      assert.equal((await good.client.getStatus({})).ready, false);
      const head = requests[0] ?? "";
      assert.match(head, /^POST \/procmgr\.v1\.ProcessManager\/GetStatus HTTP\/1\.1\r\n/);
      assert.match(head, /\r\nhost: localhost\r\n/);
      assert.match(head, /\r\nconnection: close\r\n/);
      assert.match(head, /\r\nauthorization: Bearer s3cret\r\n/);

      const bad = createProcessManagerConnection(`unix:${path}`, { token: "x\r\nx-evil: 1" });
      await assert.rejects(bad.client.getStatus({}), /invalid header value/);
      assert.equal(requests.length, 1, "nothing was sent for the refused call");
    } finally {
      server.close();
    }
  });
});
