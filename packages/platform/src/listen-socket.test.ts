/**
 * Listening sockets held without accepting, with real sockets and real children that get them as
 * fd 3. This file is its own process (node --test): the SIGIO listener counts are its alone.
 */
import * as assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { PlatformError } from "./errors.js";
import { sendDatagram } from "./libc.js";
import { formatListenAddress, parseListenAddress } from "./listen-address.js";
import {
  type ListenSocket,
  type ListenSocketSpec,
  openListenSocket,
  watchConnections,
} from "./listen-socket.js";
import { openDatagramReceiver } from "./unix-datagram.js";

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const packageDir = fileURLToPath(new URL("..", import.meta.url));
const O_NONBLOCK = 0o4000;
const O_ASYNC = 0o20000;
const O_CLOEXEC = 0o2000000;
const hasIpv6Loopback = Object.values(networkInterfaces()).some((addresses) =>
  addresses?.some((a) => a.family === "IPv6" && a.address === "::1"),
);

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The file status flags of `fd` in `pid` (/proc/<pid>/fdinfo, octal). */
function statusFlags(fd: number, pid: number | "self" = "self"): number {
  const m = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8"));
  assert.ok(m?.[1] !== undefined, `flags of fd ${fd}`);
  return Number.parseInt(m[1], 8);
}

/** A port nothing listens on now (the kernel's pick for port 0). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  assert.ok(address !== null && typeof address === "object");
  return address.port;
}

/**
 * Opens `listen(port)` on a free port, trying again when another process of the test run took
 * the port in between.
 */
async function openOnFreePort(
  listen: (port: number) => string,
  spec: Omit<ListenSocketSpec, "listen"> = {},
): Promise<ListenSocket> {
  for (let attempt = 1; ; attempt++) {
    const text = listen(await freePort());
    try {
      return await openListenSocket({ ...spec, listen: text }, `test socket ${text}`);
    } catch (e) {
      if (attempt === 5 || !(e instanceof PlatformError && /EADDRINUSE/.test(e.message))) throw e;
    }
  }
}

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `node -e script ...args` (ES module with `module`), run in this package's directory. */
function node(script: string, args: readonly string[] = [], module = false): string[] {
  return [process.execPath, ...(module ? ["--input-type=module"] : []), "-e", script, ...args];
}

/** Runs `argv` with `fds` as its descriptors 3, 4...; killed if still running when the test ends. */
function startChild(
  t: TestContext,
  argv: readonly string[],
  fds: readonly number[],
): { readonly child: ChildProcess; readonly exit: Promise<Exit> } {
  const [command = "", ...args] = argv;
  const child = spawn(command, args, {
    cwd: packageDir,
    stdio: ["ignore", "pipe", "pipe", ...fds],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exit = new Promise<Exit>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
  return { child, exit };
}

/**
 * A program as socket activation runs it: wraps fd 3 in a net.Server, answers `count`
 * connections ("answer N from PID"), then exits. Before listening it prints fd 3's /proc link and
 * status flags (Node makes the descriptor non-blocking when it listens).
 */
const server = `
  const net = require("node:net");
  const fs = require("node:fs");
  const flags = /^flags:\\s+([0-7]+)$/m.exec(fs.readFileSync("/proc/self/fdinfo/3", "utf8"))[1];
  console.log(JSON.stringify({ link: fs.readlinkSync("/proc/self/fd/3"), flags }));
  let left = Number(process.argv[1] ?? 1);
  let n = 0;
  const server = net.createServer((c) => {
    c.end("answer " + ++n + " from " + process.pid);
    if (--left === 0) server.close();
  });
  server.listen({ fd: 3 });
`;

/**
 * Receives one datagram on fd 3 (blocking recvfrom, as a program given a blocking socket does),
 * answers "pong: TEXT" when the sender has an address, prints the text.
 */
const datagramEcho = `
  const koffi = await import("koffi");
  const libc = koffi.load(null);
  const recvfrom = libc.func("intptr_t recvfrom(int fd, void *buf, size_t len, int flags, void *addr, void *addrlen)");
  const sendto = libc.func("intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)");
  const buf = Buffer.alloc(512);
  const addr = Buffer.alloc(128);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(128);
  const n = Number(recvfrom(3, buf, 512, 0, addr, len));
  if (n < 0) throw new Error("recvfrom: errno " + koffi.errno());
  const text = buf.toString("utf8", 0, n);
  if (len.readUInt32LE() > 2) {
    const reply = Buffer.from("pong: " + text);
    sendto(3, reply, reply.length, 0, addr, len.readUInt32LE());
  }
  process.stdout.write(text);
`;

/** A client connection: `connected` once the kernel completed it, `answer` all it was sent. */
function client(to: { port: number; host: string } | { path: string }): {
  readonly socket: Socket;
  readonly connected: Promise<void>;
  readonly answer: Promise<string>;
} {
  const socket = "path" in to ? connect(to.path) : connect(to.port, to.host);
  const connected = new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const answer = new Promise<string>((resolve, reject) => {
    let text = "";
    socket.on("data", (d: Buffer) => {
      text += d.toString();
    });
    socket.once("end", () => resolve(text));
    socket.once("error", reject);
  });
  return { socket, connected, answer };
}

function portOf(sock: ListenSocket): number {
  assert.equal(sock.address.kind, "inet");
  return sock.address.kind === "inet" ? sock.address.port : 0;
}

describe("parseListenAddress", () => {
  it("host:port, [ipv6]:port, :port and unix paths", () => {
    const inet = (family: 4 | 6, host: string, port: number, allAddresses = false) => ({
      kind: "inet",
      family,
      host,
      port,
      allAddresses,
    });
    const cases: [string, unknown][] = [
      ["127.0.0.1:8080", inet(4, "127.0.0.1", 8080)],
      ["0.0.0.0:80", inet(4, "0.0.0.0", 80)],
      ["[::1]:8080", inet(6, "::1", 8080)],
      ["[::]:443", inet(6, "::", 443)],
      ["[fe80::1%eth0]:1", inet(6, "fe80::1%eth0", 1)],
      [":8080", inet(6, "::", 8080, true)],
      [":65535", inet(6, "::", 65535, true)],
      ["/run/app.sock", { kind: "unix", path: "/run/app.sock" }],
      ["@app", { kind: "unix", path: "@app" }],
    ];
    for (const [text, address] of cases) {
      assert.deepEqual(parseListenAddress(text), address, text);
      assert.equal(formatListenAddress(parseListenAddress(text)), text);
    }
  });

  it("anything else: a socket-address error saying what is expected", () => {
    const cases: [string, RegExp][] = [
      ["", /expected host:port, \[ipv6\]:port, :port or an absolute unix socket path/],
      ["8080", /for port 8080 on every address: :8080/],
      ["run/app.sock", /a unix socket path starts with \//],
      ["localhost:8080", /"localhost" is not an IP address.*127\.0\.0\.1:8080/],
      ["::1:8080", /an IPv6 address goes in brackets/],
      ["[::1]", /expected host:port/],
      ["[::ffff:127.0.0.1]:80", /write the IPv4 address as it is \(127\.0\.0\.1:80\)/],
      ["127.0.0.1:0", /port 0: expected 1 to 65535/],
      [":0", /port 0: expected 1 to 65535/],
      ["127.0.0.1:65536", /port 65536: expected 1 to 65535/],
      [":99999", /port 99999: expected 1 to 65535/],
      ["1.2.3:80", /"1\.2\.3" is not an IP address/],
      ["@", /expected an absolute path or @name/],
      [`/${"x".repeat(120)}`, /at most 107 bytes/],
    ];
    for (const [text, message] of cases) {
      assert.throws(
        () => parseListenAddress(text),
        (e: unknown) => e instanceof PlatformError && e.code === "socket-address",
        text,
      );
      assert.throws(() => parseListenAddress(text), message, text);
    }
  });
});

describe("openListenSocket", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "procmgr-listen-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("fd 3 of a child spawned with it is the socket: blocking, not close-on-exec", async (t) => {
    const sock = await openOnFreePort((port) => `127.0.0.1:${port}`);
    try {
      assert.equal(statusFlags(sock.fd) & (O_NONBLOCK | O_CLOEXEC), O_CLOEXEC, "daemon's fd");
      // As exec'd, seen by sh, which leaves its descriptors alone (node marks every inherited
      // descriptor close-on-exec at startup: its own view says nothing of what it was given).
      const shell = await startChild(
        t,
        ["/bin/sh", "-c", "cat /proc/self/fdinfo/3; readlink /proc/self/fd/3"],
        [sock.fd],
      ).exit;
      assert.equal(shell.code, 0, shell.stderr);
      const flags = /^flags:\s+([0-7]+)$/m.exec(shell.stdout)?.[1];
      assert.ok(flags !== undefined, shell.stdout);
      assert.equal(Number.parseInt(flags, 8) & (O_NONBLOCK | O_CLOEXEC), 0, "sh's fd 3");
      assert.ok(shell.stdout.split("\n").includes(readlinkSync(`/proc/self/fd/${sock.fd}`)));
      const { exit } = startChild(t, node(server), [sock.fd]);
      const c = client({ port: portOf(sock), host: "127.0.0.1" });
      const answer = await c.answer;
      const { code, stdout, stderr } = await exit;
      assert.equal(code, 0, stderr);
      const seen = JSON.parse(stdout.split("\n")[0] ?? "") as { link: string; flags: string };
      assert.equal(seen.link, readlinkSync(`/proc/self/fd/${sock.fd}`));
      assert.equal(Number.parseInt(seen.flags, 8) & O_NONBLOCK, 0, "node's fd 3, blocking");
      assert.match(answer, /^answer 1 from \d+$/);
    } finally {
      sock.close();
    }
  });

  it("connections made while no program holds it wait for the next one (restart)", async (t) => {
    const sock = await openOnFreePort((port) => `127.0.0.1:${port}`);
    try {
      const to = { port: portOf(sock), host: "127.0.0.1" };
      // Before any program: the kernel completes the connection into the backlog.
      const a = client(to);
      await a.connected;
      const first = startChild(t, node(server), [sock.fd]);
      assert.match(await a.answer, /^answer 1 from /);
      assert.equal((await first.exit).code, 0);
      // Node's listen({ fd: 3 }) made the shared file description non-blocking.
      assert.equal(statusFlags(sock.fd) & O_NONBLOCK, O_NONBLOCK);
      sock.prepareForChild();
      assert.equal(statusFlags(sock.fd) & O_NONBLOCK, 0);
      // Between two programs: two more wait, and the next program answers both.
      const b = client(to);
      const c = client(to);
      await Promise.all([b.connected, c.connected]);
      const second = startChild(t, node(server, ["2"]), [sock.fd]);
      const answers = await Promise.all([b.answer, c.answer]);
      const { code, stdout } = await second.exit;
      assert.equal(code, 0);
      assert.equal(
        Number.parseInt(JSON.parse(stdout.split("\n")[0] ?? "").flags, 8) & O_NONBLOCK,
        0,
      );
      assert.deepEqual(answers.map((s) => s.replace(/ from \d+$/, "")).sort(), [
        "answer 1",
        "answer 2",
      ]);
      assert.ok(answers.every((s) => s.endsWith(` from ${second.child.pid}`)));
    } finally {
      sock.close();
    }
  });

  it(":port takes IPv4 and IPv6 clients on one socket; [::]:port is IPv6 only", {
    skip: hasIpv6Loopback ? false : "no ::1 on this host",
  }, async () => {
    const all = await openOnFreePort((port) => `:${port}`);
    const port = portOf(all);
    try {
      assert.deepEqual(all.address, {
        kind: "inet",
        family: 6,
        host: "::",
        port,
        allAddresses: true,
      });
      const clients = [client({ port, host: "127.0.0.1" }), client({ port, host: "::1" })];
      await Promise.all(clients.map((c) => c.connected));
      for (const c of clients) c.socket.destroy();
      // The IPv4 addresses are taken by the dual-stack socket.
      await assert.rejects(
        openListenSocket({ listen: `0.0.0.0:${port}` }, "second"),
        /second: bind failed: EADDRINUSE \(address already in use\)/,
      );
    } finally {
      all.close();
    }
    // Side by side, as with systemd's BindIPv6Only=ipv6-only.
    const v4 = await openListenSocket({ listen: `0.0.0.0:${port}` }, "v4");
    try {
      const v6 = await openListenSocket({ listen: `[::]:${port}` }, "v6");
      v6.close();
    } finally {
      v4.close();
    }
  });

  it("a unix socket: mode, owner, answered through it, its file removed at close", async (t) => {
    const path = join(dir, "app.sock");
    const owner = isRoot
      ? { uid: 65534, gid: 65534 }
      : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    const sock = await openListenSocket(
      { listen: path, mode: 0o660, owner },
      `test socket ${path}`,
    );
    try {
      const st = statSync(path);
      assert.ok(st.isSocket());
      assert.equal(st.mode & 0o7777, 0o660);
      assert.deepEqual({ uid: st.uid, gid: st.gid }, owner);
      const c = client({ path });
      await c.connected;
      const { exit } = startChild(t, node(server), [sock.fd]);
      assert.match(await c.answer, /^answer 1 from /);
      assert.equal((await exit).code, 0);
      // Another socket bound there since (a restarted daemon): not removed by the old one.
      const again = await openListenSocket({ listen: path }, "again");
      assert.equal(statSync(path).mode & 0o7777, 0o666, "default mode");
      sock.close();
      assert.ok(existsSync(path), "the new socket's file stays");
      again.close();
    } finally {
      sock.close();
    }
    assert.equal(existsSync(path), false, "removed at close");
    const file = join(dir, "not-a-socket");
    writeFileSync(file, "data");
    await assert.rejects(
      openListenSocket({ listen: file }, "x"),
      /x: bind failed: EADDRINUSE \(a file that is not a socket exists there; not removing it\)/,
    );
    assert.equal(readFileSync(file, "utf8"), "data");
  });

  it("a datagram socket: a datagram to it reaches the program, which answers", async (t) => {
    const sock = await openOnFreePort((port) => `127.0.0.1:${port}`, { type: "datagram" });
    const udp = createSocket("udp4");
    try {
      assert.equal(sock.type, "datagram");
      const { exit } = startChild(t, node(datagramEcho, [], true), [sock.fd]);
      const reply = new Promise<string>((resolve) => {
        udp.once("message", (m) => resolve(m.toString()));
      });
      udp.send("ping", portOf(sock), "127.0.0.1");
      assert.equal(await reply, "pong: ping");
      const { code, stdout, stderr } = await exit;
      assert.equal(code, 0, stderr);
      assert.equal(stdout, "ping");
      // UDP gets no SO_REUSEADDR: a second socket on the port is refused, not shared.
      await assert.rejects(
        openListenSocket({ listen: `127.0.0.1:${portOf(sock)}`, type: "datagram" }, "second"),
        /EADDRINUSE/,
      );
    } finally {
      udp.close();
      sock.close();
    }
  });

  it("errors name the socket and say the cause in words", async () => {
    const sock = await openOnFreePort((port) => `127.0.0.1:${port}`);
    try {
      const what = `process "web" socket 127.0.0.1:${portOf(sock)}`;
      await assert.rejects(openListenSocket({ listen: `127.0.0.1:${portOf(sock)}` }, what), {
        code: "socket-call",
        message: `${what}: bind failed: EADDRINUSE (address already in use)`,
      });
    } finally {
      sock.close();
    }
    await assert.rejects(openListenSocket({ listen: "192.0.2.1:8080" }, "s"), {
      message: "s: bind failed: EADDRNOTAVAIL (address not available on this host)",
    });
    await assert.rejects(openListenSocket({ listen: "/nonexistent-dir/app.sock" }, "s"), {
      message: "s: bind failed: ENOENT (directory /nonexistent-dir does not exist)",
    });
    await assert.rejects(openListenSocket({ listen: "localhost:80" }, "s"), {
      code: "socket-address",
      message: /^s: listen address "localhost:80": "localhost" is not an IP address/,
    });
    const invalid: [ListenSocketSpec, RegExp][] = [
      [
        { listen: ":80", type: "seqpacket" as "stream" },
        /s: type "seqpacket": expected "stream" or "datagram"/,
      ],
      [{ listen: ":80", backlog: 0 }, /s: backlog 0: expected an integer from 1/],
      [{ listen: ":80", type: "datagram", backlog: 5 }, /s: backlog 5: expected no backlog/],
      [{ listen: ":80", mode: 0o600 }, /s: mode 384: expected a mode for a unix socket path only/],
      [
        { listen: "@x", owner: { uid: 0, gid: 0 } },
        /s: owner .*: expected an owner for a unix socket path only/,
      ],
      [{ listen: "/x.sock", mode: 0o10000 }, /s: mode 4096: expected a file mode from 0 to 0o7777/],
      [{ listen: "/x.sock", owner: { uid: -1, gid: 0 } }, /s: owner .*: expected \{ uid, gid \}/],
    ];
    for (const [spec, message] of invalid) {
      await assert.rejects(openListenSocket(spec, "s"), { code: "invalid-option", message });
    }
  });

  it("a privileged port as an unprivileged user: the capability it needs", {
    skip:
      !isRoot || !existsSync("/usr/bin/unshare") || !existsSync("/usr/bin/setpriv")
        ? "needs root, unshare and setpriv (a fresh network namespace, then uid 65534)"
        : false,
  }, async () => {
    // In a network namespace of its own net.ipv4.ip_unprivileged_port_start is 1024 whatever the
    // host says; the child drops to nobody before it tries.
    const url = new URL("./listen-socket.js", import.meta.url).href;
    const script = `
      const { openListenSocket } = await import(${JSON.stringify(url)});
      try {
        const sock = await openListenSocket({ listen: "0.0.0.0:80" }, "web socket 0.0.0.0:80");
        sock.close();
        console.log("opened");
      } catch (e) {
        console.log(e.message);
      }`;
    const { stdout } = await run(
      "/usr/bin/unshare",
      [
        "--net",
        "--",
        "/usr/bin/setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
        process.execPath,
        "--input-type=module",
        "-e",
        script,
      ],
      { cwd: "/", timeout: 20_000 },
    );
    assert.equal(
      stdout.trim(),
      "web socket 0.0.0.0:80: bind failed: EACCES (port 80 is privileged: the daemon needs CAP_NET_BIND_SERVICE)",
    );
  });
});

describe("watchConnections", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "procmgr-watch-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("fires on a connection and not before; the connection is still there to accept", async (t) => {
    const koffi = await import("koffi");
    const fcntl = koffi.load(null).func("int fcntl(int fd, int cmd, ...)");
    const F_GETOWN = 9;
    assert.equal(process.listenerCount("SIGIO"), 0);
    const sock = await openOnFreePort((port) => `127.0.0.1:${port}`);
    // Another user of SIGIO, to see the watch checked and not fired by a signal not its own.
    let datagrams = 0;
    let datagramArrived = () => {};
    const receiver = await openDatagramReceiver(join(dir, "other.sock"), {
      what: "other socket",
      maxDatagramBytes: 64,
      receiveBufferBytes: 4096,
      mode: 0o600,
      onDatagram: () => {
        datagrams++;
        datagramArrived();
      },
      onFailure: (e) => assert.fail(e),
    });
    try {
      await nextTurn();
      let fired = 0;
      let firedNow = () => {};
      const unwatch = watchConnections(sock, () => {
        fired++;
        firedNow();
      });
      assert.equal(
        process.listenerCount("SIGIO"),
        1,
        "one listener for the receiver and the watch",
      );
      assert.equal(statusFlags(sock.fd) & (O_ASYNC | O_NONBLOCK), O_ASYNC);
      assert.equal(fcntl(sock.fd, F_GETOWN), process.pid);

      const arrived = new Promise<void>((resolve) => {
        datagramArrived = resolve;
      });
      await sendDatagram(receiver.path, Buffer.from("hi"), "test");
      await arrived;
      await nextTurn();
      assert.equal(datagrams, 1);
      assert.equal(fired, 0, "nothing waiting: not fired, though SIGIO came");

      const ready = new Promise<void>((resolve) => {
        firedNow = resolve;
      });
      const c = client({ port: portOf(sock), host: "127.0.0.1" });
      await c.connected;
      await ready;
      assert.ok(fired >= 1);
      unwatch();
      unwatch();
      assert.equal(statusFlags(sock.fd) & O_ASYNC, 0, "O_ASYNC cleared");
      assert.equal(fcntl(sock.fd, F_GETOWN), 0, "no owner left");

      const { exit } = startChild(t, node(server), [sock.fd]);
      assert.match(await c.answer, /^answer 1 from /, "the connection was left for the program");
      assert.equal((await exit).code, 0);
    } finally {
      sock.close();
      await receiver.close();
    }
    assert.equal(process.listenerCount("SIGIO"), 0, "gone with the last user");
  });

  it("fires at once for a connection that came before; prepareForChild ends the watch", async () => {
    const sock = await openOnFreePort((port) => `127.0.0.1:${port}`);
    try {
      const c = client({ port: portOf(sock), host: "127.0.0.1" });
      await c.connected;
      let fired = 0;
      await new Promise<void>((resolve) => {
        watchConnections(sock, () => {
          fired++;
          resolve();
        });
      });
      sock.prepareForChild();
      assert.equal(statusFlags(sock.fd) & O_ASYNC, 0);
      await nextTurn();
      await nextTurn();
      assert.equal(fired, 1);
      c.socket.destroy();
    } finally {
      sock.close();
    }
    await nextTurn();
    assert.equal(process.listenerCount("SIGIO"), 0);
  });

  it("a datagram socket: fires on a datagram, which the program then reads", async (t) => {
    const path = join(dir, "dgram.sock");
    const sock = await openListenSocket({ listen: path, type: "datagram" }, "dgram socket");
    try {
      const ready = new Promise<void>((resolve) => {
        const unwatch = watchConnections(sock, () => {
          unwatch();
          resolve();
        });
      });
      await sendDatagram(path, Buffer.from("one datagram"), "test");
      await ready;
      const { exit } = startChild(t, node(datagramEcho, [], true), [sock.fd]);
      const { code, stdout, stderr } = await exit;
      assert.equal(code, 0, stderr);
      assert.equal(stdout, "one datagram");
    } finally {
      sock.close();
    }
  });

  it("is refused in a worker thread (SIGIO reaches the main thread only)", async () => {
    const url = new URL("./listen-socket.js", import.meta.url).href;
    const path = join(dir, "worker.sock");
    const worker = new Worker(
      `const { parentPort } = require("node:worker_threads");
      import(${JSON.stringify(url)}).then(async (m) => {
        const sock = await m.openListenSocket({ listen: ${JSON.stringify(path)} }, "worker socket");
        try {
          m.watchConnections(sock, () => {});
          parentPort.postMessage("watched");
        } catch (e) {
          parentPort.postMessage(e.code + ": " + e.message);
        } finally {
          sock.close();
        }
      });`,
      { eval: true },
    );
    const answer = await new Promise<string>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    await worker.terminate();
    assert.match(answer, /^main-thread-only: worker socket: .*main thread/);
  });
});
