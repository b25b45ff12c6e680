import * as assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { openDatagramReceiver, parseJournalEntry } from "@procmgr/platform";
import { createLogger, type LogFormat } from "./logger.js";

function capture(
  format: LogFormat,
  journal: boolean,
  journalSocket?: string,
): { lines: () => string[]; log: ReturnType<typeof createLogger> } {
  const stream = new PassThrough();
  let out = "";
  stream.on("data", (c: Buffer) => {
    out += c.toString();
  });
  const log = createLogger({
    level: "info",
    format,
    journal,
    stream,
    ...(journalSocket === undefined ? {} : { journalSocket }),
  });
  return { log, lines: () => out.split("\n").filter((l) => l !== "") };
}

test("text format: timestamp, level, message and key=value", async () => {
  const { log, lines } = capture("text", false);
  log.info("Starting Process Manager", { version: "1", addr: "127.0.0.1:50051", note: "a b" });
  log.debug("hidden");
  await new Promise((r) => setImmediate(r));
  assert.equal(lines().length, 1);
  assert.match(
    lines()[0] ?? "",
    /^\d{4}-\d\d-\d\dT[\d:.]+Z info Starting Process Manager version=1 addr=127\.0\.0\.1:50051 note="a b"$/,
  );
});

test("journal socket unreachable: said once, then syslog priority prefix, no timestamp", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "procmgr-logger-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const socket = join(dir, "absent");
  const { log, lines } = capture("text", true, socket);
  log.error("boom");
  log.warn("careful");
  log.info("hello", { pid: 3 });
  while (lines().length < 4) await new Promise((r) => setTimeout(r, 5));
  log.close();
  assert.match(
    lines()[0] ?? "",
    new RegExp(
      `^<4>cannot write to the journal's native socket ${socket} \\(.*ENOENT.*\\): logging to stderr instead$`,
    ),
  );
  assert.deepEqual(lines().slice(1), ["<3>boom", "<4>careful", "<6>hello pid=3"]);
});

test("journal: native entries with MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, PROCESS_ID, PROCESS_NAME", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "procmgr-logger-"));
  const socket = join(dir, "journal");
  const entries: Record<string, string>[] = [];
  const receiver = await openDatagramReceiver(socket, {
    what: "fake journal",
    maxDatagramBytes: 256 * 1024,
    receiveBufferBytes: 1024 * 1024,
    mode: 0o600,
    onDatagram: (d) => {
      const fields = parseJournalEntry(d.data);
      entries.push(
        Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.toString("utf8")])),
      );
    },
    onFailure: () => {},
  });
  t.after(async () => {
    await receiver.close();
    await rm(dir, { recursive: true, force: true });
  });
  const { log, lines } = capture("text", true, socket);
  log.warn("process failed", { process_id: "0123456789abcdef", process: "web", reason: "exit 1" });
  log.error("multi\nline");
  log.info("listening", { addresses: "a,b", token: undefined, "not-a-field": 1 });
  while (entries.length < 3) await new Promise((r) => setTimeout(r, 5));
  log.close();
  assert.deepEqual(lines(), []);
  assert.deepEqual(entries, [
    {
      MESSAGE: 'process failed process_id=0123456789abcdef process=web reason="exit 1"',
      PRIORITY: "4",
      SYSLOG_IDENTIFIER: "dd-procmgrd",
      PROCESS_ID: "0123456789abcdef",
      PROCESS_NAME: "web",
      PROCMGR_REASON: "exit 1",
    },
    { MESSAGE: "multi\nline", PRIORITY: "3", SYSLOG_IDENTIFIER: "dd-procmgrd" },
    {
      MESSAGE: "listening addresses=a,b not-a-field=1",
      PRIORITY: "6",
      SYSLOG_IDENTIFIER: "dd-procmgrd",
      PROCMGR_ADDRESSES: "a,b",
      PROCMGR_NOT_A_FIELD: "1",
    },
  ]);
});

test("json format", async () => {
  const { log, lines } = capture("json", false);
  log.warn("process failed", { name: "web" });
  await new Promise((r) => setImmediate(r));
  const rec = JSON.parse(lines()[0] ?? "{}") as Record<string, unknown>;
  assert.equal(rec.level, "warn");
  assert.equal(rec.message, "process failed");
  assert.equal(rec.name, "web");
  assert.equal(typeof rec.timestamp, "string");
});
