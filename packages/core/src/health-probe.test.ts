import * as assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import { type AddressInfo, createServer as createTcpServer, type Socket } from "node:net";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SupervisorError } from "./errors.js";
import { healthCheckConfig, probeTarget, stillAlive, tempDir, untilWritten } from "./harness.js";
import { probe } from "./health-probe.js";

const dir = tempDir("procmgr-health-probe-");

/** The servers of this file, closed after its tests (their connections too). */
const servers: (Server | ReturnType<typeof createTcpServer>)[] = [];
after(() => {
  for (const s of servers) {
    if ("closeAllConnections" in s) s.closeAllConnections();
    s.close();
  }
});

/** Every connection a server accepted, and whether it is closed. */
interface Connections {
  readonly open: Set<Socket>;
  /** Resolves once every connection accepted so far is closed. */
  allClosed(): Promise<void>;
}

function track(server: Server | ReturnType<typeof createTcpServer>): Connections {
  const open = new Set<Socket>();
  const waiting: (() => void)[] = [];
  server.on("connection", (socket: Socket) => {
    open.add(socket);
    socket.on("error", () => {}); // a probe's RST
    socket.once("close", () => {
      open.delete(socket);
      if (open.size === 0) for (const w of waiting.splice(0)) w();
    });
  });
  return {
    open,
    allClosed: () =>
      open.size === 0 ? Promise.resolve() : new Promise((resolve) => waiting.push(resolve)),
  };
}

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as AddressInfo).port;
}

/** An HTTP server answering `status` (or never, with "hang"); it records each request. */
async function httpServer(
  answer: number | "hang",
): Promise<{ port: number; requests: IncomingMessage[]; connections: Connections }> {
  const requests: IncomingMessage[] = [];
  const server = createHttpServer((req, res) => {
    requests.push(req);
    if (answer === "hang") return;
    res.writeHead(answer, { "content-type": "text/plain" });
    res.end("x".repeat(10_000));
  });
  const connections = track(server);
  return { port: await listen(server), requests, connections };
}

/** A port nothing listens on: one just closed. */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  const port = await listen(server);
  server.close();
  await once(server, "close");
  return port;
}

describe("probe: http", () => {
  it("is ok when the status is the expected one, and leaves no connection open", async () => {
    const { port, requests, connections } = await httpServer(200);
    const check = healthCheckConfig({ type: "http", endpoint: `http://127.0.0.1:${port}/ready` });
    const result = await probe(check);
    assert.equal(result.ok, true);
    assert.equal(result.detail, "HTTP 200");
    assert.ok(result.durationMs >= 0);
    assert.equal(requests[0]?.url, "/ready");
    assert.equal(requests[0]?.method, "GET");
    assert.notEqual(requests[0]?.headers.connection, "keep-alive");
    await connections.allClosed();
  });

  it("fails with the status it got and the one expected", async () => {
    const { port } = await httpServer(404);
    const check = healthCheckConfig({ type: "http", endpoint: `http://127.0.0.1:${port}/` });
    assert.deepEqual(
      { ...(await probe(check)), durationMs: 0 },
      { ok: false, detail: "HTTP 404 (expected 200)", durationMs: 0 },
    );
    const expects404 = healthCheckConfig({
      type: "http",
      endpoint: `http://127.0.0.1:${port}/`,
      expected_status: 404,
    });
    assert.equal((await probe(expects404)).ok, true);
  });

  it("combines a path endpoint with host (default 127.0.0.1), port and method", async () => {
    const { port, requests } = await httpServer(204);
    const check = healthCheckConfig({
      type: "http",
      endpoint: "/health?deep=1",
      port,
      method: "HEAD",
      expected_status: 204,
    });
    const result = await probe(check);
    assert.equal(result.detail, "HTTP 204");
    assert.equal(requests[0]?.url, "/health?deep=1");
    assert.equal(requests[0]?.method, "HEAD");
  });

  it("times out on a server that never answers, and closes the connection", async () => {
    const { port, requests, connections } = await httpServer("hang");
    const check = healthCheckConfig({
      type: "http",
      endpoint: `http://127.0.0.1:${port}/`,
      timeout: 0.2,
    });
    const result = await probe(check);
    assert.equal(result.ok, false);
    assert.equal(result.detail, "timed out after 0.2s");
    assert.equal(requests.length, 1);
    await connections.allClosed();
  });

  it("reports a refused connection with the address", async () => {
    const port = await closedPort();
    const check = healthCheckConfig({ type: "http", endpoint: "/", port });
    const result = await probe(check);
    assert.equal(result.ok, false);
    assert.equal(result.detail, `connection refused 127.0.0.1:${port}`);
  });
});

describe("probe: tcp", () => {
  it("is ok once connected, and closes the connection", async () => {
    const server = createTcpServer();
    const connections = track(server);
    const port = await listen(server);
    const result = await probe(healthCheckConfig({ type: "tcp", port }));
    assert.equal(result.ok, true);
    assert.equal(result.detail, `connected to 127.0.0.1:${port}`);
    await connections.allClosed();
  });

  it("fails on a closed port", async () => {
    const port = await closedPort();
    const result = await probe(healthCheckConfig({ type: "tcp", host: "127.0.0.1", port }));
    assert.equal(result.ok, false);
    assert.equal(result.detail, `connection refused 127.0.0.1:${port}`);
  });

  it("answers 'aborted' when its signal is aborted", async () => {
    const server = createTcpServer();
    const port = await listen(server);
    const aborted = AbortSignal.abort();
    const result = await probe(healthCheckConfig({ type: "tcp", port }), undefined, aborted);
    assert.equal(result.detail, "aborted");
  });
});

describe("probe: exec", () => {
  it("exit 0 is ok", async () => {
    const check = healthCheckConfig({ type: "exec", command: "sh", args: ["-c", "exit 0"] });
    const result = await probe(check, await probeTarget());
    assert.deepEqual([result.ok, result.detail], [true, "exit code 0"]);
  });

  it("another exit code fails, with the end of the output", async () => {
    const check = healthCheckConfig({
      type: "exec",
      command: "sh -c 'echo not ready >&2; exit 3'",
    });
    const result = await probe(check, await probeTarget());
    assert.deepEqual([result.ok, result.detail], [false, "exit code 3: not ready"]);
  });

  it("keeps only the last 200 bytes of the output", async () => {
    const check = healthCheckConfig({
      type: "exec",
      command: "sh",
      args: ["-c", "i=0; while [ $i -lt 100 ]; do echo line$i; i=$((i+1)); done; exit 1"],
    });
    const result = await probe(check, await probeTarget());
    assert.ok(result.detail.startsWith("exit code 1: "), result.detail);
    assert.ok(result.detail.endsWith("line98 line99"), result.detail);
    assert.ok(result.detail.length <= "exit code 1: ".length + 200, result.detail);
  });

  it("at the timeout, kills its whole process group (grandchildren too)", async () => {
    const pidFile = join(dir, "grandchild.pid");
    const check = healthCheckConfig({
      type: "exec",
      command: "sh",
      args: ["-c", `sleep 30 & echo $! > ${pidFile}; sleep 30`],
      timeout: 0.3,
    });
    const result = await probe(check, await probeTarget());
    assert.deepEqual([result.ok, result.detail], [false, "killed at timeout (0.3s)"]);
    const grandchild = Number(await untilWritten(pidFile));
    assert.ok(grandchild > 0);
    assert.deepEqual(await stillAlive([grandchild]), []);
  });

  it("aborting kills the check's group at once", async () => {
    const pidFile = join(dir, "aborted.pid");
    const check = healthCheckConfig({
      type: "exec",
      command: "sh",
      args: ["-c", `echo $$ > ${pidFile}; sleep 30`],
    });
    const controller = new AbortController();
    const running = probe(check, await probeTarget(), controller.signal);
    const pid = Number(await untilWritten(pidFile));
    controller.abort();
    assert.equal((await running).detail, "aborted");
    assert.deepEqual(await stillAlive([pid]), []);
  });

  it("runs as the process's user (nobody)", { skip: process.getuid?.() !== 0 }, async () => {
    const check = healthCheckConfig({ type: "exec", command: "sh -c 'id -u; id -g; echo $USER'" });
    const target = await probeTarget("nobody");
    const result = await probe(check, target);
    assert.equal(result.ok, true, result.detail);
    assert.equal(
      result.detail,
      `exit code 0: ${target.identity.uid} ${target.identity.gid} nobody`,
    );
    assert.notEqual(target.identity.uid, 0);
  });

  it("a command that cannot run fails", async () => {
    const check = healthCheckConfig({ type: "exec", command: "/nonexistent/check" });
    const result = await probe(check, await probeTarget());
    assert.equal(result.ok, false);
    assert.match(result.detail, /could not run: .*ENOENT/);
  });
});

describe("probe: invalid checks", () => {
  it("an exec check without a target, a tcp check without a port: SupervisorError", async () => {
    const exec = healthCheckConfig({ type: "exec", command: "true" });
    await assert.rejects(probe(exec), (e) => e instanceof SupervisorError);
    const tcp = { ...healthCheckConfig({ type: "tcp", port: 1 }), port: 0 };
    await assert.rejects(probe(tcp), /health_check\.port: expected a port/);
  });
});
