/**
 * The notify socket with real sockets and real senders: this process (sdNotify), python3,
 * systemd-notify, a sender running as nobody. No mocks.
 */
import * as assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
import { promisify } from "node:util";
import { PlatformError } from "./errors.js";
import {
  formatNotifyMessage,
  type NotifyDrop,
  type NotifyMessage,
  type NotifySocket,
  notifyBufferMax,
  openNotifySocket,
  parseNotifyMessage,
  sdNotify,
} from "./notify-socket.js";

const run = promisify(execFile);

/** The first executable called `name` on PATH. */
function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir !== "" && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

const python = which("python3");
const systemdNotify = which("systemd-notify");
const setpriv = which("setpriv");
const isRoot = process.getuid?.() === 0;
// nobody cannot run a python3 under /root (pyenv): the system one, when there is one.
const systemPython = ["/usr/bin/python3", "/bin/python3"].find((p) => existsSync(p));

type Received =
  | { readonly kind: "message"; readonly message: NotifyMessage }
  | { readonly kind: "drop"; readonly drop: NotifyDrop };

/** A notify socket whose messages and drops are awaited in order. */
class Inbox {
  readonly #queue: Received[] = [];
  #wake: (() => void) | undefined;
  socket!: NotifySocket;
  received = 0;

  static async open(path: string): Promise<Inbox> {
    const inbox = new Inbox();
    inbox.socket = await openNotifySocket(
      path,
      (message) => inbox.#push({ kind: "message", message }),
      {
        onDrop: (drop) => inbox.#push({ kind: "drop", drop }),
      },
    );
    return inbox;
  }

  #push(r: Received): void {
    this.received++;
    this.#queue.push(r);
    this.#wake?.();
  }

  async next(): Promise<Received> {
    for (;;) {
      const r = this.#queue.shift();
      if (r !== undefined) return r;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  async message(): Promise<NotifyMessage> {
    const r = await this.next();
    if (r.kind !== "message") assert.fail(`expected a message, got a drop: ${r.drop.message}`);
    return r.message;
  }

  async drop(): Promise<NotifyDrop> {
    const r = await this.next();
    if (r.kind !== "drop") assert.fail(`expected a drop, got a message: ${r.message.raw}`);
    return r.drop;
  }
}

/** Runs a python3 snippet with `sys.argv[1]` = the socket path; resolves with its stdout. */
async function pythonSend(interpreter: string, path: string, code: string): Promise<string> {
  const { stdout } = await run(interpreter, ["-c", code, path], { timeout: 10_000 });
  return stdout;
}

describe("parseNotifyMessage", () => {
  it("reads KEY=VALUE lines; the value keeps its own = and spaces", () => {
    assert.deepEqual(
      [...parseNotifyMessage("READY=1\nSTATUS=Serving: a=b, c\nMAINPID=42")],
      [
        ["READY", "1"],
        ["STATUS", "Serving: a=b, c"],
        ["MAINPID", "42"],
      ],
    );
  });

  it("ignores empty lines, lines without =, an empty key; the last assignment wins", () => {
    const fields = parseNotifyMessage("\nSTATUS=one\n\njunk\n=nokey\nSTATUS=two\nWATCHDOG=1\n");
    assert.deepEqual(
      [...fields],
      [
        ["STATUS", "two"],
        ["WATCHDOG", "1"],
      ],
    );
    assert.equal(parseNotifyMessage("").size, 0);
    assert.deepEqual([...parseNotifyMessage("EMPTY=")], [["EMPTY", ""]]);
  });
});

describe("formatNotifyMessage", () => {
  it("writes a record or a map one KEY=VALUE a line", () => {
    assert.equal(formatNotifyMessage({ READY: 1, STATUS: "up" }), "READY=1\nSTATUS=up");
    assert.equal(formatNotifyMessage(new Map([["MAINPID", 7]])), "MAINPID=7");
  });

  it("refuses what the protocol cannot carry: newlines, = in a name, an empty name", () => {
    const refused = (e: unknown) => e instanceof PlatformError && e.code === "notify-field";
    assert.throws(() => formatNotifyMessage({ STATUS: "a\nREADY=1" }), refused);
    assert.throws(() => formatNotifyMessage({ "A=B": "1" }), refused);
    assert.throws(() => formatNotifyMessage({ "": "1" }), refused);
  });
});

describe("the notify socket, with real senders", () => {
  let dir: string;
  let path: string;
  let inbox: Inbox;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "procmgr-notify-"));
    // Traversable, so that a sender running as nobody reaches the socket inside.
    await chmod(dir, 0o755);
    path = join(dir, "notify.sock");
    inbox = await Inbox.open(path);
  });
  after(async () => {
    await inbox?.socket.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("is a socket file anyone may write to (mode 0666)", () => {
    const st = statSync(path);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o666);
    assert.equal(inbox.socket.path, path);
  });

  it("receives sdNotify from this process with its pid, uid and gid", async () => {
    assert.equal(await sdNotify({ READY: 1, STATUS: "Serving" }, { socketPath: path }), true);
    const m = await inbox.message();
    assert.equal(m.pid, process.pid);
    assert.equal(m.uid, process.getuid?.());
    assert.equal(m.gid, process.getgid?.());
    assert.equal(m.raw, "READY=1\nSTATUS=Serving");
    assert.deepEqual(Object.fromEntries(m.fields), { READY: "1", STATUS: "Serving" });
  });

  it("sdNotify sends to $NOTIFY_SOCKET, and does nothing without it", async () => {
    assert.equal(await sdNotify("WATCHDOG=1", { env: { NOTIFY_SOCKET: path } }), true);
    assert.equal((await inbox.message()).raw, "WATCHDOG=1");
    assert.equal(await sdNotify("WATCHDOG=1", { env: {} }), false);
    assert.equal(await sdNotify("WATCHDOG=1", { env: { NOTIFY_SOCKET: "" } }), false);
    const before = inbox.received;
    await sdNotify("STATUS=marker", { socketPath: path });
    assert.equal((await inbox.message()).raw, "STATUS=marker");
    assert.equal(inbox.received, before + 1, "nothing came from the calls without a socket");
  });

  it("receives from python3 (sendto) with the python process's credentials", {
    skip: python === undefined ? "python3 not found" : false,
  }, async () => {
    const out = await pythonSend(
      python ?? "python3",
      path,
      "import os, socket, sys\n" +
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n" +
        "s.sendto(b'READY=1\\nSTATUS=from python\\nMAINPID=%d' % os.getpid(), sys.argv[1])\n" +
        "print(os.getpid(), os.getuid(), os.getgid())\n",
    );
    const [pid, uid, gid] = out.trim().split(" ").map(Number);
    const m = await inbox.message();
    assert.deepEqual([m.pid, m.uid, m.gid], [pid, uid, gid]);
    assert.equal(m.fields.get("STATUS"), "from python");
    assert.equal(m.fields.get("MAINPID"), String(pid));
  });

  it("receives from the real systemd-notify --ready --status=...", {
    skip: systemdNotify === undefined ? "systemd-notify not found" : false,
  }, async (t: TestContext) => {
    const child = spawn(systemdNotify ?? "systemd-notify", ["--ready", "--status=Up and running"], {
      env: { ...process.env, NOTIFY_SOCKET: path },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const m = await inbox.message();
    assert.equal(m.fields.get("READY"), "1");
    assert.equal(m.fields.get("STATUS"), "Up and running");
    // Privileged, systemd-notify sends on behalf of the process that ran it (its parent: this
    // one); unprivileged, with its own credentials.
    assert.ok(
      m.pid === process.pid || m.pid === child.pid,
      `pid ${m.pid}: neither systemd-notify (${child.pid}) nor its parent (${process.pid})`,
    );
    t.diagnostic(
      `systemd-notify (pid ${child.pid}) sent READY=1 with pid ${m.pid}` +
        `${m.pid === process.pid ? " (its parent's)" : " (its own)"}`,
    );
    // Since systemd 246 it then waits on a BARRIER=1 carrying a pipe's write end, until the
    // receiver closes that descriptor: its exit 0 says the descriptor was closed here.
    const next = await Promise.race([inbox.next(), exited.then(() => undefined)]);
    if (next !== undefined && next.kind === "message") {
      assert.equal(next.message.raw, "BARRIER=1");
      t.diagnostic(`then BARRIER=1 from pid ${next.message.pid}`);
    }
    assert.equal(await exited, 0);
  });

  it("reports the uid and gid of a sender running as nobody", {
    skip: !isRoot
      ? "needs root to run a sender as nobody"
      : setpriv === undefined || systemPython === undefined
        ? "needs setpriv and a system python3"
        : false,
  }, async () => {
    const nobody = (await run("id", ["-u", "nobody"])).stdout.trim();
    const out = await run(
      setpriv ?? "setpriv",
      [
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        systemPython ?? "python3",
        "-c",
        "import os, socket, sys\n" +
          "socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'READY=1', sys.argv[1])\n" +
          "print(os.getpid(), os.getuid(), os.getgid())\n",
        path,
      ],
      { timeout: 10_000 },
    );
    const [pid, uid, gid] = out.stdout.trim().split(" ").map(Number);
    assert.equal(String(uid), nobody);
    const m = await inbox.message();
    assert.deepEqual([m.pid, m.uid, m.gid], [pid, uid, gid]);
  });

  it("drops a 5000-byte datagram with a reason and goes on receiving", async () => {
    await sdNotify(`STATUS=${"x".repeat(5000 - 7)}`, { socketPath: path });
    await sdNotify(`STATUS=${"y".repeat(notifyBufferMax - 7)}`, { socketPath: path });
    await sdNotify("READY=1", { socketPath: path });
    const d = await inbox.drop();
    assert.equal(d.reason, "too-long");
    assert.equal(d.size, 5000);
    assert.equal(d.pid, process.pid);
    assert.match(d.message, /5000-byte datagram from pid \d+ .*dropped: longer than the 4096/);
    const exact = await inbox.message();
    assert.equal(exact.raw.length, notifyBufferMax, "exactly 4096 bytes is accepted");
    assert.equal((await inbox.message()).raw, "READY=1");
  });

  it("drops empty, NUL-carrying and non-UTF-8 datagrams", {
    skip: python === undefined ? "python3 not found" : false,
  }, async () => {
    await pythonSend(
      python ?? "python3",
      path,
      "import socket, sys\n" +
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n" +
        "for d in (b'', b'READY=1\\0X', b'STATUS=\\xff\\xfe', b'STATUS=ok \\xc3\\xa9'):\n" +
        "    s.sendto(d, sys.argv[1])\n",
    );
    assert.equal((await inbox.drop()).reason, "empty");
    assert.equal((await inbox.drop()).reason, "nul-byte");
    assert.equal((await inbox.drop()).reason, "not-utf8");
    assert.equal((await inbox.message()).fields.get("STATUS"), "ok é");
  });

  it("closes file descriptors sent along (SCM_RIGHTS)", {
    skip: python === undefined ? "python3 not found" : false,
  }, async () => {
    const openPipes = (inode: string) =>
      readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === `pipe:[${inode}]`;
        } catch {
          return false; // the directory's own descriptor, closed by now
        }
      }).length;
    const fdsBefore = readdirSync("/proc/self/fd").length;
    const out = await pythonSend(
      python ?? "python3",
      path,
      "import os, socket, sys\n" +
        "r, w = os.pipe()\n" +
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n" +
        "s.connect(sys.argv[1])\n" +
        "socket.send_fds(s, [b'FDSTORE=1\\nFDNAME=pipe'], [r, w, r])\n" +
        "print(os.fstat(r).st_ino)\n",
    );
    const inode = out.trim();
    const m = await inbox.message();
    assert.equal(m.fields.get("FDSTORE"), "1");
    assert.equal(openPipes(inode), 0, `no descriptor of pipe:[${inode}] left open here`);
    assert.equal(readdirSync("/proc/self/fd").length, fdsBefore);
  });
});

describe("opening and closing the notify socket", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "procmgr-notify-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("close() is idempotent, removes the file, and no callback fires after it", async () => {
    const path = join(dir, "close.sock");
    const inbox = await Inbox.open(path);
    await sdNotify("STATUS=1", { socketPath: path });
    assert.equal((await inbox.message()).raw, "STATUS=1");
    // Sent before close() is called, possibly already received: not handed out any more.
    await sdNotify("STATUS=2", { socketPath: path });
    await sdNotify("STATUS=3", { socketPath: path });
    const closing = inbox.socket.close();
    const received = inbox.received;
    assert.equal(inbox.socket.close(), closing, "the same close");
    await closing;
    await inbox.socket.close();
    assert.equal(existsSync(path), false);
    await assert.rejects(
      sdNotify("STATUS=4", { socketPath: path }),
      (e: unknown) =>
        e instanceof PlatformError && e.code === "socket-call" && /ENOENT/.test(e.message),
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(inbox.received, received);
  });

  it("works with an @abstract name, which is free again once closed", async () => {
    const name = `@procmgr-test-${process.pid}-${Date.now()}`;
    const inbox = await Inbox.open(name);
    await assert.rejects(
      openNotifySocket(name, () => {}),
      (e: unknown) =>
        e instanceof PlatformError &&
        /EADDRINUSE \(another socket holds that abstract name\)/.test(e.message),
    );
    await sdNotify("READY=1", { env: { NOTIFY_SOCKET: name } });
    assert.equal((await inbox.message()).pid, process.pid);
    await inbox.socket.close();
    await assert.rejects(sdNotify("READY=1", { socketPath: name }), /ECONNREFUSED/);
    const again = await openNotifySocket(name, () => {});
    await again.close();
  });

  it("replaces a stale socket left by a process that died", {
    skip: python === undefined ? "python3 not found" : false,
  }, async () => {
    const path = join(dir, "stale.sock");
    await run(python ?? "python3", [
      "-c",
      "import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).bind(sys.argv[1])",
      path,
    ]);
    assert.ok(statSync(path).isSocket());
    const inbox = await Inbox.open(path);
    await sdNotify("READY=1", { socketPath: path });
    assert.equal((await inbox.message()).raw, "READY=1");
    await inbox.socket.close();
  });

  it("says why it cannot bind, naming the path", async () => {
    const long = join(dir, "x".repeat(120));
    await assert.rejects(
      openNotifySocket(long, () => {}),
      (e: unknown) =>
        e instanceof PlatformError &&
        e.code === "socket-address" &&
        e.message.includes(long) &&
        /at most 107 bytes/.test(e.message),
    );
    await assert.rejects(
      openNotifySocket("relative/notify.sock", () => {}),
      (e: unknown) =>
        e instanceof PlatformError && e.code === "socket-address" && /absolute/.test(e.message),
    );
    const missing = join(dir, "no-such-dir", "notify.sock");
    await assert.rejects(
      openNotifySocket(missing, () => {}),
      (e: unknown) =>
        e instanceof PlatformError &&
        e.code === "socket-call" &&
        e.message ===
          `notify socket ${missing}: bind failed: ENOENT (directory ${join(dir, "no-such-dir")} does not exist)`,
    );
    const file = join(dir, "regular-file");
    await writeFile(file, "keep me");
    await assert.rejects(
      openNotifySocket(file, () => {}),
      (e: unknown) =>
        e instanceof PlatformError &&
        e.message.startsWith(`notify socket ${file}: bind failed: EADDRINUSE`),
    );
    assert.ok(statSync(file).isFile(), "a file that is not a socket is left alone");
  });

  it("keeps the process alive while open, and lets it exit once closed", async () => {
    const url = new URL("./index.js", import.meta.url).href;
    // Only the open socket keeps the child alive until its second message: that one is sent
    // from an unref'd timer. The callback then closes the socket with a drain under way.
    const script = `
      const { openNotifySocket, sdNotify } = await import(${JSON.stringify(url)});
      const dir = ${JSON.stringify(dir)};
      const idle = await openNotifySocket(dir + "/idle.sock", () => {});
      await idle.close();
      const busy = await openNotifySocket(dir + "/busy.sock", (m) => {
        process.stdout.write(m.raw + "\\n");
        if (m.raw === "READY=1") void busy.close();
      });
      await sdNotify("STATUS=starting", { socketPath: dir + "/busy.sock" });
      setTimeout(() => sdNotify("READY=1", { socketPath: dir + "/busy.sock" }), 300).unref();
    `;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      timeout: 10_000,
    });
    assert.equal(stdout, "STATUS=starting\nREADY=1\n");
  });
});
