import * as assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { createLogger, type LogFormat } from "./logger.js";

function capture(
  format: LogFormat,
  journal: boolean,
): { lines: () => string[]; log: ReturnType<typeof createLogger> } {
  const stream = new PassThrough();
  let out = "";
  stream.on("data", (c: Buffer) => {
    out += c.toString();
  });
  const log = createLogger({ level: "info", format, journal, stream });
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

test("journal: syslog priority prefix, no timestamp", async () => {
  const { log, lines } = capture("text", true);
  log.error("boom");
  log.warn("careful");
  log.info("hello", { pid: 3 });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(lines(), ["<3>boom", "<4>careful", "<6>hello pid=3"]);
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
