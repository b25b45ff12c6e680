/**
 * Signal-driven receiving (O_ASYNC, SIGIO) with real sockets: many receivers at once beside the
 * threadpool's other users, bursts, close in the middle of a drain, the SIGIO listener's life.
 * This file is its own process (node --test): the listener counts below are this file's alone.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { pbkdf2 } from "node:crypto";
import { lookup } from "node:dns/promises";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { PlatformError } from "./errors.js";
import { sendDatagram } from "./libc.js";
import {
  type DatagramReceiver,
  drainBudget,
  openDatagramReceiver,
  type ReceivedDatagram,
} from "./unix-datagram.js";

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const unshare = ["/usr/bin/unshare", "/bin/unshare"].find((p) => existsSync(p));
const O_NONBLOCK = 0o4000;
const O_ASYNC = 0o20000;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A receiver that records what it gets; `until(n)` waits for the n-th datagram. */
class Recorder {
  readonly received: ReceivedDatagram[] = [];
  receiver!: DatagramReceiver;
  closedAt: number | undefined;
  lateCallbacks = 0;
  #waiters: { readonly n: number; readonly resolve: () => void }[] = [];

  static async open(
    path: string,
    onEach?: (recorder: Recorder, datagram: ReceivedDatagram) => void,
  ): Promise<Recorder> {
    const r = new Recorder();
    r.receiver = await openDatagramReceiver(path, {
      what: "test socket",
      maxDatagramBytes: 4096,
      receiveBufferBytes: 1024 * 1024,
      mode: 0o600,
      onDatagram: (d) => {
        if (r.closedAt !== undefined) r.lateCallbacks++;
        r.received.push(d);
        onEach?.(r, d);
        r.#waiters = r.#waiters.filter((w) => {
          if (r.received.length < w.n) return true;
          w.resolve();
          return false;
        });
      },
      onFailure: (e) => assert.fail(e),
    });
    return r;
  }

  until(n: number): Promise<void> {
    if (this.received.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  texts(): string[] {
    return this.received.map((d) => d.data.toString());
  }

  close(): Promise<void> {
    this.closedAt ??= this.received.length;
    return this.receiver.close();
  }
}

/**
 * Sends `count` datagrams `${prefix}${i}`, in batches of 100 with a turn of the event loop
 * between them. The kernel queues at most net.unix.max_dgram_qlen (10 by default) datagrams
 * for a socket that has not been read: a send refused with EAGAIN is retried after a turn, and
 * counted. Resolves with that count.
 */
async function sendAll(path: string, prefix: string, count: number): Promise<number> {
  let refused = 0;
  for (let i = 0; i < count; i++) {
    if (i % 100 === 0) await nextTurn();
    for (;;) {
      try {
        await sendDatagram(path, Buffer.from(`${prefix}${i}`), "test socket");
        break;
      } catch (e) {
        if (!(e instanceof PlatformError && /EAGAIN/.test(e.message))) throw e;
        refused++;
        await nextTurn();
      }
    }
  }
  return refused;
}

/** The descriptor of this process bound to the unix socket `path`, from /proc. */
function socketFd(path: string): number {
  const line = readFileSync("/proc/net/unix", "utf8")
    .split("\n")
    .find((l) => l.trim().split(/\s+/)[7] === path);
  assert.ok(line !== undefined, `${path} in /proc/net/unix`);
  const inode = line.trim().split(/\s+/)[6];
  const fd = readdirSync("/proc/self/fd").find((n) => {
    try {
      return readlinkSync(`/proc/self/fd/${n}`) === `socket:[${inode}]`;
    } catch {
      return false;
    }
  });
  assert.ok(fd !== undefined, `a descriptor of socket:[${inode}]`);
  return Number(fd);
}

/** The file status flags of descriptor `fd` (/proc/self/fdinfo, octal). */
function statusFlags(fd: number): number {
  const m = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"));
  assert.ok(m?.[1] !== undefined, `flags of fd ${fd}`);
  return Number.parseInt(m[1], 8);
}

describe("signal-driven receiving", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "procmgr-dgram-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("8 receivers at once each receive, while fs, dns.lookup and crypto still complete", {
    timeout: 20_000,
  }, async (t: TestContext) => {
    // With a blocking recvmsg per socket in libuv's threadpool (4 threads), 8 receivers took the
    // whole pool: these fs, dns and crypto calls, and 4 of the receivers, never ran.
    const recorders = await Promise.all(
      Array.from({ length: 8 }, (_, i) => Recorder.open(join(dir, `many-${i}.sock`))),
    );
    try {
      const pool = Promise.all([
        readFile(new URL(import.meta.url)),
        readFile("/proc/self/status", "utf8"),
        lookup("localhost"),
        lookup("localhost", { family: 4 }),
        promisify(pbkdf2)("password", "salt", 10_000, 32, "sha256"),
      ]);
      for (const [i, r] of recorders.entries()) {
        for (let k = 0; k < 3; k++) {
          await sendDatagram(r.receiver.path, Buffer.from(`to ${i}: ${k}`), "test socket");
        }
      }
      const [self, status, local, , key] = await pool;
      assert.ok(self.length > 0);
      assert.equal(key.length, 32);
      assert.match(status, /^Pid:\s+\d+$/m);
      assert.ok(local.address !== "");
      await Promise.all(recorders.map((r) => r.until(3)));
      for (const [i, r] of recorders.entries()) {
        assert.deepEqual(r.texts(), [`to ${i}: 0`, `to ${i}: 1`, `to ${i}: 2`]);
        assert.equal(r.received[0]?.credentials?.pid, process.pid);
      }
      t.diagnostic(`localhost is ${local.address}`);
    } finally {
      await Promise.all(recorders.map((r) => r.close()));
    }
  });

  it("a burst of 2,000 datagrams all arrive, in order, with credentials", {
    timeout: 60_000,
  }, async (t: TestContext) => {
    const r = await Recorder.open(join(dir, "burst.sock"));
    try {
      const refused = await sendAll(r.receiver.path, "burst ", 2000);
      await r.until(2000);
      await nextTurn();
      assert.equal(r.received.length, 2000);
      assert.deepEqual(
        r.texts(),
        Array.from({ length: 2000 }, (_, i) => `burst ${i}`),
      );
      assert.ok(r.received.every((d) => d.credentials?.pid === process.pid && !d.truncated));
      t.diagnostic(`${refused} sends refused with EAGAIN (queue full) and retried`);
    } finally {
      await r.close();
    }
  });

  it("close() in the middle of a drain, or between two: no callback after it", async () => {
    // From the callback, with more datagrams queued behind the one being handed out.
    const inside = await Recorder.open(join(dir, "close-inside.sock"), (rec) => {
      if (rec.received.length === 3) void rec.close();
    });
    for (let i = 0; i < 8; i++) {
      await sendDatagram(inside.receiver.path, Buffer.from(`in ${i}`), "test socket");
    }
    await inside.until(3);
    // From outside, while a burst is being sent and drained.
    const outside = await Recorder.open(join(dir, "close-outside.sock"));
    const sending = sendAll(outside.receiver.path, "out ", 2000).catch((e: unknown) => e);
    await outside.until(500);
    const closing = outside.close();
    const sendEnd = await sending;
    assert.ok(
      sendEnd instanceof PlatformError && /ENOENT|ECONNREFUSED/.test(sendEnd.message),
      `the sender stops when the socket goes: ${String(sendEnd)}`,
    );
    await closing;
    await inside.receiver.close();
    for (let i = 0; i < 5; i++) await nextTurn();
    assert.equal(inside.received.length, 3);
    assert.equal(inside.lateCallbacks, 0);
    assert.equal(outside.lateCallbacks, 0);
    assert.equal(outside.received.length, outside.closedAt);
  });

  it("one SIGIO listener while receivers are open; O_ASYNC cleared and listener gone after", async () => {
    assert.equal(process.listenerCount("SIGIO"), 0, "no receiver open before");
    const koffi = await import("koffi");
    const libc = koffi.load(null);
    const dup = libc.func("int dup(int fd)");
    const close = libc.func("int close(int fd)");
    const fcntl = libc.func("int fcntl(int fd, int cmd, ...)");
    const F_GETOWN = 9;

    const a = await Recorder.open(`@procmgr-test-sigio-a-${process.pid}`);
    const b = await Recorder.open(join(dir, "sigio-b.sock"));
    assert.equal(process.listenerCount("SIGIO"), 1, "one listener for all receivers");
    const fd = socketFd(a.receiver.path);
    const flags = statusFlags(fd);
    assert.equal(flags & O_ASYNC, O_ASYNC, "O_ASYNC set");
    assert.equal(flags & O_NONBLOCK, O_NONBLOCK, "non-blocking");
    assert.equal(fcntl(fd, F_GETOWN), process.pid, "SIGIO goes to this process");

    // A copy of the descriptor (as a child holds between fork and exec) outlives close().
    const copy = dup(fd);
    assert.ok(copy >= 0);
    try {
      await a.close();
      assert.equal(process.listenerCount("SIGIO"), 1, "still one: b is open");
      assert.equal(statusFlags(copy) & O_ASYNC, 0, "O_ASYNC cleared by close()");
      await sendDatagram(b.receiver.path, Buffer.from("still here"), "test socket");
      await b.until(1);
      await b.close();
      assert.equal(process.listenerCount("SIGIO"), 0, "gone with the last receiver");
    } finally {
      close(copy);
    }
    // Opening again installs it again.
    const c = await Recorder.open(join(dir, "sigio-c.sock"));
    assert.equal(process.listenerCount("SIGIO"), 1);
    await c.close();
    assert.equal(process.listenerCount("SIGIO"), 0);
  });

  it("is refused in a worker thread (SIGIO reaches the main thread only)", async () => {
    const url = new URL("./unix-datagram.js", import.meta.url).href;
    const worker = new Worker(
      `const { parentPort } = require("node:worker_threads");
      import(${JSON.stringify(url)})
        .then((m) => m.openDatagramReceiver(${JSON.stringify(join(dir, "worker.sock"))}, {
          what: "test socket", maxDatagramBytes: 64, receiveBufferBytes: 4096, mode: 0o600,
          onDatagram() {}, onFailure() {},
        }))
        .then(() => parentPort.postMessage("opened"), (e) => parentPort.postMessage(e.code + ": " + e.message));`,
      { eval: true },
    );
    const answer = await new Promise<string>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    await worker.terminate();
    assert.match(answer, /^main-thread-only: test socket .*worker\.sock: .*main thread/);
    assert.equal(existsSync(join(dir, "worker.sock")), false, "nothing bound");
  });

  it(`drains a flood in turns of at most ${drainBudget} datagrams (own netns, long queue)`, {
    skip:
      !isRoot || unshare === undefined ? "needs root and unshare for a network namespace" : false,
    timeout: 60_000,
  }, async (t: TestContext) => {
    // The kernel queues max_dgram_qlen datagrams per socket (10 by default): in a network
    // namespace of its own, a child raises it so that 2,000 datagrams wait at once.
    const url = new URL("./unix-datagram.js", import.meta.url).href;
    const script = `
      import { writeFileSync } from "node:fs";
      writeFileSync("/proc/sys/net/unix/max_dgram_qlen", "4096");
      const { openDatagramReceiver } = await import(${JSON.stringify(url)});
      const { sendDatagram } = await import(${JSON.stringify(new URL("./libc.js", import.meta.url).href)});
      let turn = 0;
      const perTurn = new Map();
      const tick = () => { turn++; if (!done) setImmediate(tick); };
      let done = false;
      let count = 0;
      let late = 0;
      let closed = false;
      const deadline = setTimeout(() => { console.log(JSON.stringify({ timeout: count })); process.exit(1); }, 30000);
      const open = (path, onDatagram) => openDatagramReceiver(path, {
        what: "flood", maxDatagramBytes: 64, receiveBufferBytes: 1 << 22, mode: 0o600,
        onDatagram, onFailure: (e) => { throw e; },
      });
      const path = ${JSON.stringify(join(dir, "flood.sock"))};
      let resolveAll;
      const all = new Promise((r) => { resolveAll = r; });
      const flood = await open(path, () => {
        count++;
        perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
        if (count === 2000) resolveAll();
      });
      for (let i = 0; i < 2000; i++) await sendDatagram(path, Buffer.from("f" + i), "flood");
      setImmediate(tick);
      await all;
      done = true;
      await flood.close();
      // Closing from a callback with 1,999 datagrams queued behind.
      const path2 = path + "2";
      let got = 0;
      const second = await open(path2, () => {
        if (closed) late++;
        got++;
        closed = true;
        void second.close();
      });
      for (let i = 0; i < 2000; i++) await sendDatagram(path2, Buffer.from("g" + i), "flood");
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      await second.close();
      clearTimeout(deadline);
      console.log(JSON.stringify({ count, turns: perTurn.size, max: Math.max(...perTurn.values()), got, late }));
    `;
    const { stdout } = await run(
      unshare ?? "unshare",
      ["--net", "--", process.execPath, "--input-type=module", "-e", script],
      { timeout: 45_000 },
    );
    const result = JSON.parse(stdout) as Record<string, number>;
    assert.equal(result.count, 2000);
    assert.ok((result.max ?? Infinity) <= drainBudget, `at most ${drainBudget} in one turn`);
    assert.ok((result.turns ?? 0) >= Math.ceil(2000 / drainBudget));
    assert.equal(result.got, 1);
    assert.equal(result.late, 0);
    t.diagnostic(
      `2,000 queued datagrams drained over ${result.turns} turns, at most ${result.max} in one`,
    );
  });
});
