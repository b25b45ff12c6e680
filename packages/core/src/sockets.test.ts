import * as assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { SocketConfig } from "@procmgr/config";
import { fixture, freePort, supervisorFactory, testConfig, waitState } from "./harness.js";

const { root, newSupervisor } = supervisorFactory();

/** One request: the server's answer, or the error's code (ECONNREFUSED...). */
function ask(target: { port: number } | { path: string }): Promise<string> {
  return new Promise((resolve) => {
    const c = connect(target);
    let text = "";
    c.on("data", (d: Buffer) => {
      text += d.toString();
    });
    c.on("end", () => resolve(text));
    c.on("error", (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
  });
}

function served(sockets: SocketConfig[], extra = {}) {
  return testConfig("web", [process.execPath, fixture("fd3-server.mjs")], { sockets, ...extra });
}

describe("sockets", () => {
  it("the program gets its socket as fd 3 with LISTEN_FDS, LISTEN_FDNAMES and its own LISTEN_PID", async () => {
    const sup = newSupervisor();
    const port = await freePort();
    await sup.create(served([{ listen: `127.0.0.1:${port}`, name: "http", type: "stream" }]));
    const { pid } = await sup.start("web");
    const answer = await ask({ port });
    assert.equal(answer, `pid=${pid} fds=1 names=http\n`);
    await sup.stop("web");
    // Held while the process is stopped: a connection now waits for the next start.
    const waiting = ask({ port });
    const again = await sup.start("web");
    assert.equal(await waiting, `pid=${again.pid} fds=1 names=http\n`);
    await sup.stop("web");
  });

  it("20 restarts refuse no connection: every request is answered", async () => {
    const sup = newSupervisor();
    const port = await freePort();
    await sup.create(served([{ listen: `127.0.0.1:${port}`, type: "stream" }]));
    await sup.start("web");
    let running = true;
    const answers: string[] = [];
    const client = (async () => {
      while (running) answers.push(await ask({ port }));
    })();
    for (let i = 0; i < 20; i++) {
      const { pid } = await sup.restart("web");
      // Each instance serves before the next restart: requests meanwhile wait in the backlog.
      while (!answers.some((a) => a.startsWith(`pid=${pid} `))) {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    running = false;
    await client;
    const failed = answers.filter((a) => !a.startsWith("pid="));
    assert.deepEqual(failed, [], `${failed.length} of ${answers.length} requests failed`);
    const pids = new Set(answers.map((a) => a.split(" ")[0]));
    assert.ok(pids.size >= 20, `answered by ${pids.size} instances: ${answers.length} answers`);
    await sup.stop("web");
  });

  it("start_on_connect: the first connection starts the process, and is answered", async () => {
    const sup = newSupervisor();
    const path = join(root, "lazy.sock");
    await sup.create(
      served([{ listen: path, type: "stream", mode: 0o600 }], { startOnConnect: true }),
    );
    const info = await waitState(sup, "web", "created");
    assert.equal(info.pid, undefined);
    for (let i = 0; i < 100 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const answer = await ask({ path });
    const running = sup.get("web");
    assert.equal(running.state, "running");
    assert.equal(answer, `pid=${running.pid} fds=1 names=web\n`);
    await sup.stop("web");
    // Stopped, it is armed again.
    const second = await ask({ path });
    assert.match(second, /^pid=\d+ /);
    await sup.delete("web", { force: true });
    assert.equal(existsSync(path), false, "the socket file goes with the process");
  });

  it("a unix socket's owner and mode are set on its file", {
    skip: process.getuid?.() !== 0 && "needs root",
  }, async () => {
    const sup = newSupervisor();
    const path = join(root, "owned.sock");
    await sup.create(served([{ listen: path, type: "stream", mode: 0o660, owner: "nobody" }]));
    const { pid } = await sup.start("web");
    const st = statSync(path);
    assert.equal(st.uid, 65534);
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(await ask({ path }), `pid=${pid} fds=1 names=web\n`);
    await sup.delete("web", { force: true });
  });

  it("an address in use fails that process, naming it and the socket; another still runs", async () => {
    const sup = newSupervisor();
    const port = await freePort();
    const squatter: Server = createServer();
    await new Promise<void>((r) => squatter.listen(port, "127.0.0.1", r));
    try {
      await sup.create(served([{ listen: `127.0.0.1:${port}`, type: "stream" }]));
      const info = await sup.start("web");
      assert.equal(info.state, "failed");
      assert.match(
        info.failureReason ?? "",
        new RegExp(`process "web" socket 127\\.0\\.0\\.1:${port}: .*address already in use`),
      );
      await sup.create(testConfig("other", ["sleep", "100"]));
      assert.equal((await sup.start("other")).state, "running");
      await sup.stop("other");
    } finally {
      squatter.close();
    }
  });

  it("start_on_connect with a socket that cannot be opened: failed, naming it", async () => {
    const sup = newSupervisor();
    const path = join(root, "no-such-dir", "x.sock");
    await sup.create(served([{ listen: path, type: "stream" }], { startOnConnect: true }));
    const info = await waitState(sup, "web", "failed");
    assert.match(info.failureReason ?? "", /process "web" socket .*x\.sock: .*does not exist/);
  });

  it("two processes cannot hold one address: the second names the first", async () => {
    const sup = newSupervisor();
    const port = await freePort();
    const socket: SocketConfig = { listen: `127.0.0.1:${port}`, type: "stream" };
    await sup.create(served([socket]));
    await sup.start("web");
    await sup.create({ ...served([socket]), name: "web2" });
    const second = await sup.start("web2");
    assert.equal(second.state, "failed");
    assert.match(second.failureReason ?? "", /already held by process "web"/);
    // Twice in one process: that process fails, named.
    const twice: SocketConfig = { listen: `127.0.0.1:${await freePort()}`, type: "stream" };
    await sup.create({ ...served([twice, twice]), name: "twice" });
    assert.match((await sup.start("twice")).failureReason ?? "", /socket .*: declared twice/);
    // However it is written: every address on that port takes it too.
    await sup.create({ ...served([{ listen: `:${port}`, type: "stream" }]), name: "web3" });
    assert.match((await sup.start("web3")).failureReason ?? "", /already held by process "web"/);
    await sup.stop("web");
  });
});
