import * as assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { supervisorFactory, tempDir, testConfig, waitState } from "./harness.js";
import { rotationCut } from "./log-rotation.js";
import { LogSink } from "./log-sink.js";

const b = (s: string) => Buffer.from(s);

/** `path`'s rotated files, oldest first, then `path` itself. */
function filesInOrder(path: string): string[] {
  const dir = join(path, "..");
  const base = path.slice(dir.length + 1);
  const numbers = readdirSync(dir)
    .map((f) => (f.startsWith(`${base}.`) ? Number(f.slice(base.length + 1)) : Number.NaN))
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((x, y) => y - x);
  numbers.forEach((n, k) => {
    assert.equal(n, numbers.length - k, `rotated files are .1 ... .${numbers.length}, no gap`);
  });
  return [...numbers.map((n) => `${path}.${n}`), path];
}

/**
 * Every file at most `max` bytes unless it is one single line, every non-empty file made of
 * whole lines; returns the files' contents joined.
 */
function checkedFiles(path: string, max: number): { text: string; files: number } {
  const files = filesInOrder(path);
  const parts = files.map((f) => readFileSync(f, "latin1"));
  parts.forEach((text, k) => {
    const lines = text.split("\n").length - 1;
    if (text.length > max) assert.equal(lines, 1, `${files[k]}: over ${max} bytes, one line`);
    if (text !== "") assert.ok(text.endsWith("\n"), `${files[k]} ends a line`);
  });
  return { text: parts.join(""), files: files.length };
}

describe("rotationCut", () => {
  const end = (size: number, atLineStart = true) => ({ size, atLineStart });

  it("everything when it fits (up to the limit exactly)", () => {
    assert.deepEqual(rotationCut([b("ab\ncd\n")], end(4), 10), { bytes: 6, rotate: false });
    assert.deepEqual(rotationCut([b("ab\ncd")], end(5), 10), { bytes: 5, rotate: false });
  });

  it("the limit inside the data: cut after the last newline within it", () => {
    // room 6: "ab\ncd\n" fits, "ef\n" does not.
    assert.deepEqual(rotationCut([b("ab\ncd\nef\n")], end(4), 10), { bytes: 6, rotate: true });
    // Across buffers, the newline in the second one.
    assert.deepEqual(rotationCut([b("ab"), b("\ncd"), b("ef\ngh\n")], end(0), 7), {
      bytes: 3,
      rotate: true,
    });
  });

  it("no newline fits and the file ends a line: rotate before the data", () => {
    assert.deepEqual(rotationCut([b("abcdef\n")], end(8), 10), { bytes: 0, rotate: true });
    assert.deepEqual(rotationCut([b("x\n")], end(12), 10), { bytes: 0, rotate: true });
  });

  it("a line already begun in the file is finished there, past the limit, then rotated", () => {
    assert.deepEqual(rotationCut([b("abcdef\nxy\n")], end(8, false), 10), {
      bytes: 7,
      rotate: true,
    });
    assert.deepEqual(rotationCut([b("abc"), b("def")], end(8, false), 10), {
      bytes: 6,
      rotate: false,
    });
  });

  it("a line longer than the limit goes whole into an empty file", () => {
    assert.deepEqual(rotationCut([b("0123456789abc\nz\n")], end(0), 10), {
      bytes: 14,
      rotate: true,
    });
    assert.deepEqual(rotationCut([b("0123456789abc")], end(0), 10), { bytes: 13, rotate: false });
  });
});

describe("LogSink rotation", () => {
  it("keeps log_max_files rotated files, the oldest deleted, with the file's mode", () => {
    const path = join(tempDir("procmgr-rot-"), "out.log");
    const sink = new LogSink(path);
    sink.setRotation({ maxBytes: 10, maxFiles: 2 });
    sink.acquire(undefined);
    chmodSync(path, 0o600);
    for (let i = 0; i < 6; i++) sink.write(b(`line${i}\n`)); // 6 bytes each: one per file
    assert.equal(readFileSync(path, "utf8"), "line5\n");
    assert.equal(readFileSync(`${path}.1`, "utf8"), "line4\n");
    assert.equal(readFileSync(`${path}.2`, "utf8"), "line3\n");
    assert.equal(existsSync(`${path}.3`), false, "older ones deleted");
    for (const f of [path, `${path}.1`, `${path}.2`]) assert.equal(statSync(f).mode & 0o777, 0o600);

    // Fewer files kept from now on: the run past the new count is deleted at the next rotation.
    sink.setRotation({ maxBytes: 10, maxFiles: 1 });
    sink.write(b("line6\n"));
    assert.deepEqual(filesInOrder(path), [`${path}.1`, path]);
    assert.equal(readFileSync(`${path}.1`, "utf8"), "line5\n");
    sink.release();
  });

  it("several lines in one write: cut at the last newline under the limit; a long line whole", () => {
    const path = join(tempDir("procmgr-rot-"), "out.log");
    const sink = new LogSink(path);
    sink.setRotation({ maxBytes: 10, maxFiles: 10 });
    sink.acquire(undefined);
    sink.write(b("aa\nbb\ncc\ndd\n"));
    sink.write(b("a-line-longer-than-ten\nee\n"));
    sink.write(b("ff")); // the beginning of a line waits for its end: the line in one file
    sink.write(b("fffffffff\ngg\n"));
    sink.write(b("h")); // written at close
    assert.deepEqual(
      filesInOrder(path).map((f) => readFileSync(f, "utf8")),
      ["aa\nbb\ncc\n", "dd\n", "a-line-longer-than-ten\n", "ee\n", "fffffffffff\n", "gg\n"],
    );
    sink.release();
    assert.equal(readFileSync(path, "utf8"), "gg\nh");
  });

  it("queued chunks (over 64 KiB, behind a write in flight) are cut the same way, nothing lost", async () => {
    const path = join(tempDir("procmgr-rot-"), "out.log");
    const sink = new LogSink(path);
    const max = 100_000;
    sink.setRotation({ maxBytes: max, maxFiles: 1000 });
    sink.acquire(undefined);
    const lines: string[] = [];
    for (let i = 0; i < 200_000; i++) lines.push(`${i} ${"x".repeat(i % 37)}\n`);
    const all = lines.join("");
    // Chunks of 300 KiB, 1 byte, 70 KiB...: cuts at arbitrary places, lines split across chunks.
    const sizes = [300 * 1024, 1, 70 * 1024, 5, 1024 * 1024];
    for (let off = 0, k = 0; off < all.length; k++) {
      const size = sizes[k % sizes.length] ?? 1;
      sink.write(Buffer.from(all.slice(off, off + size), "latin1"));
      off += size;
    }
    await sink.flushed();
    const { text, files } = checkedFiles(path, max);
    assert.equal(text, all);
    assert.ok(files > all.length / max, `${files} files`);
    sink.release();
  });

  it("reopen() (logrotate) still works: the renamed file keeps its bytes, rotation goes on in the new one", () => {
    const dir = tempDir("procmgr-rot-");
    const path = join(dir, "out.log");
    const sink = new LogSink(path);
    sink.setRotation({ maxBytes: 10, maxFiles: 5 });
    sink.acquire(undefined);
    sink.write(b("one\n"));
    renameSync(path, join(dir, "out.log-20240101"));
    sink.reopen();
    sink.write(b("two\n"));
    sink.write(b("three\n")); // 10 bytes: fits exactly
    sink.write(b("four\n"));
    assert.equal(readFileSync(join(dir, "out.log-20240101"), "utf8"), "one\n");
    assert.equal(readFileSync(`${path}.1`, "utf8"), "two\nthree\n");
    assert.equal(readFileSync(path, "utf8"), "four\n");
    sink.release();
  });

  it("a rotation that fails is reported once and the output goes on into the current file", () => {
    const dir = tempDir("procmgr-rot-");
    const path = join(dir, "out.log");
    const errors: Error[] = [];
    const sink = new LogSink(path, (e) => errors.push(e));
    sink.setRotation({ maxBytes: 10, maxFiles: 1 });
    sink.acquire(undefined);
    sink.write(b("123456789\n"));
    mkdirSync(join(`${path}.1`, "x"), { recursive: true }); // not deletable, even by root
    sink.write(b("a\n"));
    sink.write(b("b\n"));
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? "", /cannot rotate/);
    assert.equal(readFileSync(path, "utf8"), "123456789\na\nb\n");
    // New settings (or a reopen) try again.
    rmSync(`${path}.1`, { recursive: true });
    sink.setRotation({ maxBytes: 10, maxFiles: 2 });
    sink.write(b("c\n"));
    assert.equal(readFileSync(`${path}.1`, "utf8"), "123456789\na\nb\n");
    assert.equal(readFileSync(path, "utf8"), "c\n");
    sink.release();
  });
});

describe("rotation through the supervisor", () => {
  const { newSupervisor, root } = supervisorFactory();

  it("2,000,000 lines of a real child, log_max_size 1M: every line once, in order, none split", async () => {
    const sup = newSupervisor();
    const out = join(root, "seq", "seq.log");
    const max = 1024 * 1024;
    await sup.create(
      testConfig("seq", ["seq", "1", "2000000"], {
        stdout: { kind: "file", path: out },
        logMaxSize: max,
        logMaxFiles: 1000,
      }),
    );
    const exited = waitState(sup, "seq", "exited", "failed");
    await sup.start("seq");
    const info = await exited;
    assert.equal(info.state, "exited");
    const { text, files } = checkedFiles(out, max);
    // seq's output is 14,888,896 bytes: at least 15 files of at most 1 MiB.
    assert.equal(text.length, 14_888_896);
    assert.ok(files >= 15, `${files} files`);
    let n = 0;
    let start = 0;
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", start)) {
      n++;
      if (text.slice(start, i) !== String(n)) assert.fail(`line ${n} is "${text.slice(start, i)}"`);
      start = i + 1;
    }
    assert.equal(n, 2_000_000);
  });
});
