import * as assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:http2";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { Supervisor } from "@procmgr/core";
import { createProcessManagerConnection } from "@procmgr/rpc";
import { Daemon } from "./daemon.js";
import { createLogger } from "./logger.js";
import { maxRequestBytes } from "./request-limits.js";

// Found by `pnpm fault fuzz-rpc`: no request size limit was set, so connect-node's default (4
// GiB) let one request of any size be read whole into the daemon's memory.

const path = "/procmgr.v1.ProcessManager/Create";

/** A Create through the real client (Connect over HTTP/1.1) whose description is `size` bytes. */
async function create(socketPath: string, size: number): Promise<ConnectError | undefined> {
  const c = createProcessManagerConnection(`unix:${socketPath}`);
  try {
    await c.client.create({
      spec: { name: "big", command: "/bin/true", description: "x".repeat(size) },
    });
    return undefined;
  } catch (e) {
    return ConnectError.from(e);
  } finally {
    c.close();
  }
}

/** A gRPC call over HTTP/2 whose 5-byte prefix announces `size` bytes (the body follows). */
function grpcCall(socketPath: string, size: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const session = connect("http://localhost", {
      createConnection: () => createConnection(socketPath),
    });
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
    });
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(size, 1);
    let headers: Record<string, unknown> = {};
    stream.on("response", (h) => {
      headers = { ...h };
    });
    // The status comes in the trailers; the rest of the body is never read (nor waited for).
    stream.on("trailers", (t) => {
      session.destroy();
      resolve({ ...headers, ...t });
    });
    stream.on("error", () => {});
    stream.resume();
    stream.end(Buffer.concat([prefix, Buffer.alloc(Math.min(size, 65536))]));
  });
}

describe("the API's request size limit", () => {
  let dir: string;
  let daemon: Daemon;
  let socketPath: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pm-limits-"));
    socketPath = join(dir, "run", "d.sock");
    daemon = new Daemon({
      settings: {
        configPath: join(dir, "none.yaml"),
        stateDir: join(dir, "state"),
        runtimeDir: join(dir, "run"),
        socketPath,
        tokenPath: join(dir, "run", "token"),
        bindAddress: null,
        allowRemote: false,
        tls: null,
        logLevel: "error",
        logFormat: "text",
        processOutput: "file",
        metrics: { enabled: false, host: "127.0.0.1", port: 0 },
        isRoot: false,
      },
      logger: createLogger({ level: "error", format: "text", stream: new PassThrough() }),
      supervisor: new Supervisor({ stateDir: join(dir, "state") }),
    });
    await daemon.start();
  });

  after(async () => {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("is 4 MiB", () => {
    assert.equal(maxRequestBytes, 4 * 1024 * 1024);
  });

  test("a Connect request over it is RESOURCE_EXHAUSTED naming the limit", async () => {
    const e = await create(socketPath, maxRequestBytes + 1);
    assert.equal(e?.code, Code.ResourceExhausted, String(e));
    assert.match(
      e?.rawMessage ?? "",
      new RegExp(`larger than configured readMaxBytes ${maxRequestBytes}`),
    );
  });

  test("a gRPC message announced over it is refused before it is read", async () => {
    const h = await grpcCall(socketPath, 64 * 1024 * 1024);
    assert.equal(h["grpc-status"], "8");
    assert.match(String(h["grpc-message"]), new RegExp(`readMaxBytes%20${maxRequestBytes}`));
  });

  test("a request just under it is read (and judged on its content)", async () => {
    assert.equal(await create(socketPath, maxRequestBytes - 1024), undefined);
  });
});
