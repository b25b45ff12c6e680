import * as assert from "node:assert/strict";
import { closeSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FifoPool } from "./fifo-pool.js";
import { tempDir } from "./harness.js";

/** Waits until `dir` holds `count` FIFOs (made by mkfifo in the background). */
async function untilReady(dir: string, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (readdirSync(dir).length !== count) {
    if (Date.now() > deadline) assert.fail(`${readdirSync(dir).length} FIFOs, not ${count}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("FifoPool", () => {
  it("refills in batches below half its target, not after every take", async () => {
    const dir = join(tempDir("procmgr-fifo-pool-"), "fifo");
    const pool = new FifoPool(dir);
    try {
      pool.want(10);
      // A first batch in the background: at least 32, not just the 10 wanted. The FIFOs exist
      // before mkfifo's exit is reported: wait for the batch to be ready to take as well.
      await untilReady(dir, 32);
      await pool.settled();
      const taken = [];
      for (let i = 0; i < 27; i++) taken.push(pool.take());
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(readdirSync(dir).length, 5, "half the target left: no refill yet");
      taken.push(pool.take());
      // 4 left, below half of 10: one batch of 32 (not the 6 missing, one spawn each time).
      await untilReady(dir, 36);
      for (const ends of taken) {
        assert.ok(ends !== undefined);
        closeSync(ends.read);
        closeSync(ends.write);
      }
    } finally {
      await pool.close();
    }
    assert.deepEqual(readdirSync(dir), []);
  });
});
