import * as assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PlatformError } from "./errors.js";
import {
  boundedJournalEntry,
  journalEntry,
  openJournalSender,
  parseJournalEntry,
  sendJournal,
} from "./journal.js";
import {
  type DatagramReceiver,
  openDatagramReceiver,
  type ReceivedDatagram,
} from "./unix-datagram.js";

const text = (fields: Record<string, Buffer>) =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.toString("utf8")]));

describe("journalEntry: the native protocol's encoding", () => {
  it("KEY=value lines for simple values", () => {
    const entry = journalEntry({ MESSAGE: "process started", PRIORITY: "6", PROCESS_NAME: "web" });
    assert.equal(entry.toString(), "MESSAGE=process started\nPRIORITY=6\nPROCESS_NAME=web\n");
  });

  it("a value with a newline: KEY, newline, 64-bit little-endian length, bytes, newline", () => {
    const entry = journalEntry({ MESSAGE: "a\nb" });
    const expected = Buffer.concat([
      Buffer.from("MESSAGE\n"),
      Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from("a\nb\n"),
    ]);
    assert.deepEqual(entry, expected);
  });

  it("binary values are framed, and round-trip with '=' and empty values", () => {
    const blob = Buffer.from([0, 1, 0x0a, 0x3d, 0xff]);
    const entry = journalEntry({ DATA: blob, EMPTY: "", EQ: "a=b" });
    assert.deepEqual(parseJournalEntry(entry), {
      DATA: blob,
      EMPTY: Buffer.alloc(0),
      EQ: Buffer.from("a=b"),
    });
  });

  it("refuses field names journald refuses", () => {
    for (const bad of ["_PID", "message", "1X", "A-B", "", "X".repeat(65)]) {
      assert.throws(
        () => journalEntry({ [bad]: "x" }),
        (e: unknown) => e instanceof PlatformError && e.code === "journal-field",
        bad,
      );
    }
    assert.doesNotThrow(() => journalEntry({ ["X".repeat(64)]: "x", A_1: "y" }));
  });

  it("parseJournalEntry refuses a truncated frame", () => {
    const entry = journalEntry({ MESSAGE: "a\nb" });
    assert.throws(() => parseJournalEntry(entry.subarray(0, entry.length - 2)), PlatformError);
  });

  it("an entry over the limit has its MESSAGE cut with a marker, on a UTF-8 boundary", () => {
    const message = "é".repeat(100_000);
    const entry = boundedJournalEntry({ MESSAGE: message, PRIORITY: "6" }, 4096);
    assert.ok(entry.length <= 4096, `${entry.length}`);
    const fields = text(parseJournalEntry(entry));
    assert.equal(fields.PRIORITY, "6");
    assert.match(
      fields.MESSAGE ?? "",
      /^(é)+ \[message cut: 200000 bytes are more than a journal datagram holds\]$/,
    );
    const small = boundedJournalEntry({ MESSAGE: "short" }, 4096);
    assert.equal(small.toString(), "MESSAGE=short\n");
  });
});

describe("sending to a unix datagram socket", () => {
  let dir: string;
  let path: string;
  let receiver: DatagramReceiver;
  const received: ReceivedDatagram[] = [];
  let waiter: (() => void) | undefined;
  const next = async (n: number) => {
    while (received.length < n) await new Promise<void>((resolve) => (waiter = resolve));
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "procmgr-journal-"));
    path = join(dir, "socket");
    receiver = await openDatagramReceiver(path, {
      what: "fake journal",
      maxDatagramBytes: 256 * 1024,
      receiveBufferBytes: 1024 * 1024,
      mode: 0o600,
      onDatagram: (d) => {
        received.push(d);
        waiter?.();
      },
      onFailure: () => {},
    });
  });

  after(async () => {
    await receiver.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("sendJournal: one datagram per entry, decoded as sent, with the sender's credentials", async () => {
    await sendJournal({ MESSAGE: "line one\nline two", PRIORITY: "4", PROCESS_ID: "abc" }, path);
    await next(1);
    const d = received[0];
    assert.ok(d !== undefined && !d.truncated);
    assert.equal(d.credentials?.pid, process.pid);
    assert.deepEqual(text(parseJournalEntry(d.data)), {
      MESSAGE: "line one\nline two",
      PRIORITY: "4",
      PROCESS_ID: "abc",
    });
  });

  it("openJournalSender: synchronous sends in order; a huge MESSAGE arrives cut", async () => {
    const sender = await openJournalSender(path);
    try {
      sender.send({ MESSAGE: "first" });
      sender.send({ MESSAGE: "x".repeat(1024 * 1024) });
      sender.send({ MESSAGE: "third" });
    } finally {
      sender.close();
      sender.close();
    }
    await next(4);
    const messages = received.slice(1).map((d) => text(parseJournalEntry(d.data)).MESSAGE ?? "");
    assert.equal(messages[0], "first");
    assert.match(messages[1] ?? "", /^x+ \[message cut: 1048576 bytes/);
    assert.equal(messages[2], "third");
    assert.throws(() => sender.send({ MESSAGE: "closed" }), PlatformError);
  });

  it("no socket there: a PlatformError with errno ENOENT", async () => {
    const sender = await openJournalSender(join(dir, "absent"));
    try {
      assert.throws(
        () => sender.send({ MESSAGE: "x" }),
        (e: unknown) => e instanceof PlatformError && e.errno === "ENOENT",
      );
    } finally {
      sender.close();
    }
    await assert.rejects(sendJournal({ MESSAGE: "x" }, join(dir, "absent")), /ENOENT/);
  });
});
