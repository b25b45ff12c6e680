import * as assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type DatagramReceiver,
  openDatagramReceiver,
  openJournalSender,
  parseJournalEntry,
} from "@procmgr/platform";
import { tempDir, testConfig, waitState } from "./harness.js";
import { JournalSink, journalLineMax } from "./journal-sink.js";
import { LogSink } from "./log-sink.js";
import { Supervisor } from "./supervisor.js";

type Fields = Record<string, Buffer>;

/** Polls `test` every 10 ms until it holds; fails naming `what` after `ms`. */
async function until(test: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A stand-in for journald: a real unix datagram socket, every entry decoded. */
async function fakeJournal(path: string): Promise<{
  entries: Fields[];
  until: (n: number) => Promise<void>;
  close: () => Promise<void>;
}> {
  const entries: Fields[] = [];
  const receiver: DatagramReceiver = await openDatagramReceiver(path, {
    what: "fake journal",
    maxDatagramBytes: 256 * 1024,
    receiveBufferBytes: 4 * 1024 * 1024,
    mode: 0o666,
    onDatagram: (d) => entries.push(parseJournalEntry(d.data)),
    onFailure: () => {},
  });
  return {
    entries,
    until: (n) => until(() => entries.length >= n, 20_000, `${n} journal entries`),
    close: () => receiver.close(),
  };
}

const text = (f: Fields | undefined, name: string) => f?.[name]?.toString("utf8");

describe("JournalSink: a stream's lines as journal entries", () => {
  const dir = tempDir("procmgr-journal-sink-");
  const socket = join(dir, "journal.sock");
  let journal: Awaited<ReturnType<typeof fakeJournal>>;
  const warnings: string[] = [];
  const sinkFor = (name: string, stream: "stdout" | "stderr", pid?: number) =>
    new JournalSink(
      { name, id: `id-${name}`, stream, pid: () => pid },
      {
        sender: () => openJournalSender(socket),
        fallback: () => new LogSink(join(dir, `${name}.${stream}.log`)),
        warn: (m) => warnings.push(m),
      },
    );

  before(async () => {
    journal = await fakeJournal(socket);
  });
  after(() => journal.close());

  it("one entry per line: identifier, pid, priority by stream, PROCMGR_* fields", async () => {
    const from = journal.entries.length;
    const out = sinkFor("web", "stdout", 4242);
    const err = sinkFor("web", "stderr", 4242);
    out.acquire();
    err.acquire();
    out.write(Buffer.from("hello\nwor"));
    out.write(Buffer.from("ld\n"));
    err.write(Buffer.from("oops\n"));
    await Promise.all([out.flushed(), err.flushed()]);
    await journal.until(from + 3);
    const got = journal.entries.slice(from);
    assert.deepEqual(
      got.map((e) => [text(e, "MESSAGE"), text(e, "PRIORITY"), text(e, "PROCMGR_STREAM")]),
      [
        ["hello", "6", "stdout"],
        ["world", "6", "stdout"],
        ["oops", "3", "stderr"],
      ],
    );
    for (const e of got) {
      assert.equal(text(e, "SYSLOG_IDENTIFIER"), "web");
      assert.equal(text(e, "SYSLOG_PID"), "4242");
      assert.equal(text(e, "PROCMGR_PROCESS"), "web");
      assert.equal(text(e, "PROCMGR_PROCESS_ID"), "id-web");
    }
    out.release();
    err.release();
  });

  it("<N> prefixes set the priority and are removed; a line without its end is written at close", async () => {
    const from = journal.entries.length;
    const sink = sinkFor("prio", "stdout");
    sink.acquire();
    sink.write(Buffer.from("<3>bad\n<7>debug\n<9>not a priority\n<4>\nno end"));
    await journal.until(from + 4);
    sink.release();
    await journal.until(from + 5);
    const got = journal.entries.slice(from);
    assert.deepEqual(
      got.map((e) => [text(e, "PRIORITY"), text(e, "MESSAGE")]),
      [
        ["3", "bad"],
        ["7", "debug"],
        ["6", "<9>not a priority"],
        ["4", ""],
        ["6", "no end"],
      ],
    );
    assert.equal(got[0]?.SYSLOG_PID, undefined, "no pid without a run");
  });

  it("a line longer than 48 KiB becomes several entries; binary bytes pass as they are", async () => {
    const from = journal.entries.length;
    const sink = sinkFor("long", "stdout");
    sink.acquire();
    const long = Buffer.alloc(journalLineMax * 2 + 100, "x");
    const binary = Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x41]);
    sink.write(Buffer.concat([long, Buffer.from("\n"), binary, Buffer.from("\n")]));
    await sink.flushed();
    await journal.until(from + 4);
    const got = journal.entries.slice(from).map((e) => e.MESSAGE as Buffer);
    assert.deepEqual(
      got.map((m) => m.length),
      [journalLineMax, journalLineMax, 100, 5],
    );
    assert.ok(Buffer.concat(got.slice(0, 3)).equals(long));
    assert.ok(got[3]?.equals(binary));
    sink.release();
  });

  it("50,000 lines at once: journald's queue fills (EAGAIN), every line arrives, in order", async () => {
    const from = journal.entries.length;
    const sink = sinkFor("burst", "stdout");
    sink.acquire();
    const lines = Array.from({ length: 50_000 }, (_, i) => `line ${i}\n`).join("");
    // In 64 KiB chunks, as the relay reads a pipe; the sink asks to pause past 8 MiB queued.
    const data = Buffer.from(lines);
    for (let at = 0; at < data.length; at += 65536) {
      if (!sink.write(data.subarray(at, at + 65536))) await sink.drained();
    }
    assert.ok(sink.pending, "the queue (10 datagrams) cannot take 50,000 entries at once");
    await sink.flushed();
    await journal.until(from + 50_000);
    const got = journal.entries.slice(from).map((e) => text(e, "MESSAGE"));
    assert.equal(got.length, 50_000);
    for (let i = 0; i < got.length; i++) assert.equal(got[i], `line ${i}`);
    sink.release();
  });

  it("no journal: lines go to the process's log file, said once; back to the journal when it returns", async () => {
    const gone = join(dir, "gone.sock");
    const said: string[] = [];
    const sink = new JournalSink(
      { name: "lost", id: "id-lost", stream: "stdout", pid: () => undefined },
      {
        sender: () => openJournalSender(gone),
        fallback: () => new LogSink(join(dir, "lost.stdout.log")),
        warn: (m) => said.push(m),
      },
    );
    sink.acquire();
    sink.write(Buffer.from("one\n"));
    await sink.flushed();
    sink.write(Buffer.from("two\n"));
    await sink.flushed();
    assert.equal(readFileSync(join(dir, "lost.stdout.log"), "utf8"), "one\ntwo\n");
    assert.equal(said.length, 1, said.join("\n"));
    assert.match(
      said[0] ?? "",
      /cannot write stdout of "lost" to the journal .*ENOENT.*lost\.stdout\.log/,
    );
    // journald comes (back): after the file's few seconds, lines go to the journal again.
    const back = await fakeJournal(gone);
    try {
      await new Promise((r) => setTimeout(r, 5100));
      sink.write(Buffer.from("three\n"));
      await sink.flushed();
      await back.until(1);
      assert.equal(text(back.entries[0], "MESSAGE"), "three");
      assert.match(said[1] ?? "", /stdout of "lost" goes to the journal again/);
      assert.equal(readFileSync(join(dir, "lost.stdout.log"), "utf8"), "one\ntwo\n");
    } finally {
      sink.release();
      await back.close();
    }
  });
});

describe("stdout: journal through the supervisor", () => {
  const dir = tempDir("procmgr-journal-sup-");
  const socket = join(dir, "journal.sock");
  let journal: Awaited<ReturnType<typeof fakeJournal>>;
  let sup: Supervisor;

  before(async () => {
    journal = await fakeJournal(socket);
    sup = new Supervisor({ stateDir: join(dir, "state"), journalSocket: socket, cgroups: false });
  });
  after(async () => {
    await sup.shutdown();
    await journal.close();
  });

  it("each line an entry with the run's pid; describe says journal; no log file", async () => {
    const p = await sup.create(
      testConfig("jweb", ["sh", "-c", "echo out; echo '<4>warned' >&2; sleep 30"], {
        stdout: { kind: "journal" },
        stderr: { kind: "journal" },
      }),
    );
    await sup.start(p.id);
    await journal.until(2);
    const info = sup.get(p.id);
    assert.equal(info.stdoutJournal, true);
    assert.equal(info.stderrJournal, true);
    assert.equal(info.stdoutPath, undefined);
    const byMessage = new Map(journal.entries.map((e) => [text(e, "MESSAGE"), e]));
    const out = byMessage.get("out");
    const warned = byMessage.get("warned");
    assert.equal(text(out, "SYSLOG_PID"), String(info.pid));
    assert.equal(text(out, "PRIORITY"), "6");
    assert.equal(text(warned, "PRIORITY"), "4");
    assert.equal(text(warned, "PROCMGR_STREAM"), "stderr");
    assert.equal(text(warned, "PROCMGR_PROCESS_ID"), p.id);
    assert.ok(!existsSync(join(dir, "state", "logs", "jweb.stdout.log")));
    await sup.stop(p.id);
    await waitState(sup, "jweb", "stopped");
  });

  it("defaultOutput journal: a process that does not say goes to the journal", async () => {
    const other = new Supervisor({
      stateDir: join(dir, "state2"),
      journalSocket: socket,
      defaultOutput: "journal",
      cgroups: false,
    });
    try {
      const from = journal.entries.length;
      const p = await other.create(testConfig("jdefault", ["sh", "-c", "echo by default"]));
      await other.start(p.id);
      await journal.until(from + 1);
      assert.equal(text(journal.entries[from], "SYSLOG_IDENTIFIER"), "jdefault");
      assert.equal(other.get(p.id).stdoutJournal, true);
    } finally {
      await other.shutdown();
    }
  });

  it("without journald: the log file, and one warning for every process", async () => {
    const other = new Supervisor({
      stateDir: join(dir, "state3"),
      journalSocket: join(dir, "absent.sock"),
      cgroups: false,
    });
    const warnings: string[] = [];
    other.on("warning", ({ message }) => warnings.push(message));
    try {
      const target = { stdout: { kind: "journal" } } as const;
      const a = await other.create(testConfig("ja", ["sh", "-c", "echo from a"], target));
      const b = await other.create(testConfig("jb", ["sh", "-c", "echo from b"], target));
      await other.start(a.id);
      await other.start(b.id);
      await waitState(other, "ja", "exited");
      await waitState(other, "jb", "exited");
      const logs = join(dir, "state3", "logs");
      await until(() => existsSync(join(logs, "jb.stdout.log")), 5000, "jb's log file");
      assert.equal(readFileSync(join(logs, "ja.stdout.log"), "utf8"), "from a\n");
      assert.equal(other.get(a.id).stdoutJournal, undefined);
      assert.equal(other.get(a.id).stdoutPath, join(logs, "ja.stdout.log"));
      const said = warnings.filter((w) => /journald is not running/.test(w));
      assert.equal(said.length, 1, warnings.join("\n"));
    } finally {
      await other.shutdown();
    }
  });
});
