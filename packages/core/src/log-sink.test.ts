import * as assert from "node:assert/strict";
import { readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "./harness.js";
import { LogSink } from "./log-sink.js";

/** Chunk i: `size` bytes, every byte (i % 251), so order and completeness can be checked. */
function chunk(i: number, size: number): Buffer {
  return Buffer.alloc(size, i % 251);
}

function assertChunks(data: Buffer, sizes: readonly number[], first = 0): void {
  let off = 0;
  sizes.forEach((size, k) => {
    const i = first + k;
    const part = data.subarray(off, off + size);
    if (part.length !== size || part.some((b) => b !== i % 251)) {
      assert.fail(`chunk ${i} (${size} bytes at ${off}) is not intact`);
    }
    off += size;
  });
  assert.equal(data.length, off);
}

describe("LogSink", () => {
  it("small, 64 KiB and larger chunks, mixed, arrive complete and in order; flushed() waits for them", async () => {
    const path = join(tempDir("procmgr-sink-"), "out.log");
    const errors: Error[] = [];
    const sink = new LogSink(path, (e) => errors.push(e));
    sink.acquire(undefined);
    const sizes: number[] = [64 * 1024];
    assert.equal(sink.write(chunk(0, 64 * 1024)), true);
    assert.equal(sink.pending, false, "a whole read of a pipe (64 KiB) is written at once");
    for (let i = 1; i < 60; i++) {
      const size = i % 3 === 0 ? 256 * 1024 : i % 3 === 1 ? 64 * 1024 : 100 + (i % 7);
      sizes.push(size);
      assert.equal(sink.write(chunk(i, size)), true);
    }
    assert.equal(sink.pending, true, "larger chunks, and what follows them, go in the background");
    await sink.flushed();
    assert.equal(sink.pending, false);
    assertChunks(readFileSync(path), sizes);
    sink.release();
    assert.equal(sink.isOpen, false);
    assert.deepEqual(errors, []);
  });

  it("asks to pause past 8 MiB queued and says when to resume; nothing is dropped", async () => {
    const path = join(tempDir("procmgr-sink-"), "out.log");
    const sink = new LogSink(path);
    sink.acquire(undefined);
    const sizes: number[] = [];
    let refused = -1;
    for (let i = 0; i < 200; i++) {
      sizes.push(256 * 1024);
      if (!sink.write(chunk(i, 256 * 1024)) && refused < 0) refused = i;
    }
    assert.ok(refused > 0 && refused < 40, `first refusal at chunk ${refused}`);
    await sink.drained();
    await sink.flushed();
    assertChunks(readFileSync(path), sizes);
    sink.release();
  });

  it("keeps no reference to the caller's buffer: a queued chunk is a copy", async () => {
    const path = join(tempDir("procmgr-sink-"), "out.log");
    const sink = new LogSink(path);
    sink.acquire(undefined);
    const reused = Buffer.alloc(64 * 1024);
    const sizes = [256 * 1024, 64 * 1024, 64 * 1024];
    sink.write(chunk(0, sizes[0] ?? 0));
    for (const i of [1, 2]) {
      // Queued behind the write in flight, then overwritten by the caller (a reused read buffer).
      reused.fill(i % 251);
      sink.write(reused);
    }
    reused.fill(0xff);
    await sink.flushed();
    assertChunks(readFileSync(path), sizes);
    sink.release();
  });

  it("release with writes in flight closes the file only after they are written", async () => {
    const path = join(tempDir("procmgr-sink-"), "out.log");
    const sink = new LogSink(path);
    sink.acquire(undefined);
    const sizes = [1, 2, 3, 4].map(() => 1024 * 1024);
    for (const [i, size] of sizes.entries()) sink.write(chunk(i, size));
    sink.release();
    assert.equal(sink.isOpen, true, "still writing");
    await sink.flushed();
    assert.equal(sink.isOpen, false);
    assertChunks(readFileSync(path), sizes);
  });

  it("reopen while a write is in flight: the old file keeps what was written, the new one the rest", async () => {
    const dir = tempDir("procmgr-sink-");
    const path = join(dir, "out.log");
    const sink = new LogSink(path);
    sink.acquire(undefined);
    const sizes: number[] = [];
    for (let i = 0; i < 8; i++) {
      sizes.push(512 * 1024);
      sink.write(chunk(i, 512 * 1024));
    }
    renameSync(path, `${path}.1`);
    sink.reopen();
    for (let i = 8; i < 16; i++) {
      sizes.push(512 * 1024);
      sink.write(chunk(i, 512 * 1024));
    }
    await sink.flushed();
    const rotated = readFileSync(`${path}.1`);
    const fresh = readFileSync(path);
    assert.ok(rotated.length > 0);
    assertChunks(Buffer.concat([rotated, fresh]), sizes);
    sink.release();
  });
});
