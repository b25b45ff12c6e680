import * as assert from "node:assert/strict";
import { test } from "node:test";
import { normalizeCapability } from "./capabilities.js";
import { didYouMean, levenshtein } from "./did-you-mean.js";
import { parseDuration } from "./duration.js";
import { ConfigError } from "./errors.js";
import { parseSignal } from "./signals.js";

test("parseDuration: numbers, unit strings, compound, infinity", () => {
  assert.equal(parseDuration(5), 5);
  assert.equal(parseDuration(0.5), 0.5);
  assert.equal(parseDuration("5"), 5);
  assert.equal(parseDuration("5s"), 5);
  assert.equal(parseDuration("500ms"), 0.5);
  assert.equal(parseDuration("1m30s"), 90);
  assert.equal(parseDuration("1m 30s"), 90);
  assert.equal(parseDuration("2h"), 7200);
  assert.equal(parseDuration("1d"), 86400);
  assert.equal(parseDuration("1.5min"), 90);
  assert.equal(parseDuration("0"), 0);
  assert.equal(parseDuration("infinity"), Number.POSITIVE_INFINITY);
});

test("parseDuration rejects garbage and negatives with a ConfigError", () => {
  for (const bad of ["", "5x", "abc", "-1", "1m30", "s", "5 s s"] as const) {
    assert.throws(
      () => parseDuration(bad),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.issues[0]?.message === "invalid duration" &&
        e.issues[0]?.received === JSON.stringify(bad),
      bad,
    );
  }
  assert.throws(() => parseDuration(-1), ConfigError);
  assert.throws(() => parseDuration(Number.NaN), ConfigError);
});

test("parseSignal: names with or without SIG, any case, numbers and numeric strings", () => {
  assert.equal(parseSignal("SIGTERM"), "SIGTERM");
  assert.equal(parseSignal("TERM"), "SIGTERM");
  assert.equal(parseSignal("sigint"), "SIGINT");
  assert.equal(parseSignal("hup"), "SIGHUP");
  assert.equal(parseSignal(15), "SIGTERM");
  assert.equal(parseSignal("9"), "SIGKILL");
  assert.equal(parseSignal(6), "SIGABRT", "the first name wins for aliases (SIGIOT)");
  for (const bad of ["SIGFOO", "FOO", "", "99", "1.5"])
    assert.throws(() => parseSignal(bad), ConfigError);
  assert.throws(() => parseSignal(99), /unknown signal/);
});

test("capabilities are normalised, unknown ones rejected", () => {
  assert.equal(normalizeCapability("net_bind_service"), "CAP_NET_BIND_SERVICE");
  assert.equal(normalizeCapability("CAP_NET_RAW"), "CAP_NET_RAW");
  assert.equal(normalizeCapability("cap_sys_admin"), "CAP_SYS_ADMIN");
  assert.equal(normalizeCapability("net-admin"), "CAP_NET_ADMIN");
  assert.equal(normalizeCapability("CAP_FLY"), undefined);
});

test("did you mean: Levenshtein with a sane threshold", () => {
  assert.equal(levenshtein("kitten", "sitting"), 3);
  assert.equal(didYouMean("auto_strat", ["auto_start", "args", "restart"]), "auto_start");
  assert.equal(didYouMean("workdir", ["working_dir", "user"]), undefined);
  assert.equal(didYouMean("working-dir", ["working_dir", "user"]), "working_dir");
  assert.equal(didYouMean("db", ["b", "a"]), undefined, "no wild guesses for short names");
  assert.equal(didYouMean("on_failure", ["never", "on-failure"]), "on-failure");
});
