import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  backoffDelayMs,
  failureResetAfterMs,
  forgetOldStarts,
  restartDecision,
  startLimitExceeded,
  startsInWindow,
} from "./policy.js";

describe("restartDecision", () => {
  const ok = { success: true, stoppedByUs: false };
  const bad = { success: false, stoppedByUs: false };
  const stopped = { success: true, stoppedByUs: true };

  it("follows each policy exactly", () => {
    assert.deepEqual(
      (["never", "always", "on-failure", "on-success"] as const).map((p) => [
        restartDecision(p, ok),
        restartDecision(p, bad),
      ]),
      [
        [false, false],
        [true, true],
        [false, true],
        [true, false],
      ],
    );
  });

  it("never restarts after a stop by us", () => {
    for (const p of ["never", "always", "on-failure", "on-success"] as const) {
      assert.equal(restartDecision(p, stopped), false);
      assert.equal(restartDecision(p, { success: false, stoppedByUs: true }), false);
    }
  });
});

describe("backoffDelayMs", () => {
  it("doubles per consecutive failure and caps at restart_max_delay_sec", () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelayMs(1, 60, n)),
      [1000, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000],
    );
    assert.equal(backoffDelayMs(0.5, 3, 10), 3000);
  });

  it("restart_sec 0 restarts immediately", () => {
    assert.equal(backoffDelayMs(0, 60, 5), 0);
  });

  it("never goes below restart_sec, even with a smaller max", () => {
    assert.equal(backoffDelayMs(5, 1, 3), 5000);
  });

  it("survives absurd failure counts", () => {
    assert.equal(backoffDelayMs(1, 60, 10_000), 60000);
  });
});

describe("failureResetAfterMs", () => {
  it("is max(10 s, the preceding delay)", () => {
    assert.equal(failureResetAfterMs(0), 10_000);
    assert.equal(failureResetAfterMs(30_000), 30_000);
  });
});

describe("startLimitExceeded", () => {
  it("allows burst starts in the window and refuses one more", () => {
    const at = 100_000;
    const starts = [91_000, 93_000, 95_000, 97_000];
    assert.equal(startLimitExceeded(starts, at, 5, 10), false);
    assert.equal(startLimitExceeded([...starts, 99_000], at, 5, 10), true);
  });

  it("slides: starts older than the interval do not count", () => {
    const starts = [80_000, 85_000, 95_000, 97_000, 99_000];
    assert.equal(startLimitExceeded(starts, 100_000, 5, 10), false);
    assert.deepEqual(startsInWindow(starts, 100_000, 10), [95_000, 97_000, 99_000]);
  });

  it("counts only starts up to `at` (a start scheduled after it does not count yet)", () => {
    assert.equal(startLimitExceeded([95_000, 99_000, 101_000], 100_000, 3, 10), false);
    assert.equal(startLimitExceeded([95_000, 99_000, 101_000], 101_000, 3, 10), true);
  });

  it("is disabled by a zero burst or interval", () => {
    const many = Array.from({ length: 50 }, (_, i) => i);
    assert.equal(startLimitExceeded(many, 50, 0, 10), false);
    assert.equal(startLimitExceeded(many, 50, 5, 0), false);
  });
});

describe("forgetOldStarts", () => {
  it("drops, in place, starts before the window and all but the last burst", () => {
    const starts = [80_000, 85_000, 95_000, 97_000, 99_000];
    const same = starts;
    forgetOldStarts(starts, 100_000, 5, 10);
    assert.equal(starts, same);
    assert.deepEqual(starts, [95_000, 97_000, 99_000]);
    forgetOldStarts(starts, 100_000, 2, 10);
    assert.deepEqual(starts, [97_000, 99_000]);
  });

  it("keeps what the limit needs: the answer is the same as with the whole history", () => {
    const history: number[] = [];
    const kept: number[] = [];
    for (let t = 0; t < 60_000; t += 700) {
      // Same answer for a start at t, then both record it.
      assert.equal(startLimitExceeded(kept, t, 5, 10), startLimitExceeded(history, t, 5, 10));
      forgetOldStarts(kept, t, 5, 10);
      kept.push(t);
      history.push(t);
      assert.ok(kept.length <= 6);
    }
  });

  it("keeps nothing when the limit is disabled", () => {
    const starts = [1, 2, 3];
    forgetOldStarts(starts, 4, 0, 10);
    assert.deepEqual(starts, []);
    const more = [1, 2, 3];
    forgetOldStarts(more, 4, 5, 0);
    assert.deepEqual(more, []);
  });
});
