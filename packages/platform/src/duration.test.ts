import * as assert from "node:assert/strict";
import { test } from "node:test";
import { parseDurationSeconds } from "./duration.js";

test("numbers and numeric strings are seconds", () => {
  assert.equal(parseDurationSeconds(5), 5);
  assert.equal(parseDurationSeconds(0.5), 0.5);
  assert.equal(parseDurationSeconds(0), 0);
  assert.equal(parseDurationSeconds("5"), 5);
  assert.equal(parseDurationSeconds("1.5"), 1.5);
  assert.equal(parseDurationSeconds(" 0 "), 0);
  assert.equal(parseDurationSeconds(Number.POSITIVE_INFINITY), Number.POSITIVE_INFINITY);
});

test("every unit, in any case", () => {
  const cases: [string, number][] = [
    ["1us", 0.000001],
    ["1usec", 0.000001],
    ["500ms", 0.5],
    ["500msec", 0.5],
    ["5s", 5],
    ["5sec", 5],
    ["1second", 1],
    ["5seconds", 5],
    ["2m", 120],
    ["2min", 120],
    ["1minute", 60],
    ["2minutes", 120],
    ["2h", 7200],
    ["2hr", 7200],
    ["1hour", 3600],
    ["2hours", 7200],
    ["1d", 86400],
    ["1day", 86400],
    ["2days", 172800],
    ["1.5min", 90],
    ["5S", 5],
    ["2MIN", 120],
  ];
  for (const [text, seconds] of cases) assert.equal(parseDurationSeconds(text), seconds, text);
});

test("compound forms, with or without spaces; infinity", () => {
  assert.equal(parseDurationSeconds("1m30s"), 90);
  assert.equal(parseDurationSeconds("1m 30s"), 90);
  assert.equal(parseDurationSeconds("1h 2m 3s"), 3723);
  assert.equal(parseDurationSeconds("1 min 30 sec"), 90);
  assert.equal(parseDurationSeconds("100ms200ms"), 0.3, "no float noise");
  assert.equal(parseDurationSeconds("infinity"), Number.POSITIVE_INFINITY);
  assert.equal(parseDurationSeconds("inf"), Number.POSITIVE_INFINITY);
  assert.equal(parseDurationSeconds("Infinity"), Number.POSITIVE_INFINITY);
});

test("anything else is undefined, never negative", () => {
  for (const bad of ["", " ", "5x", "abc", "-1", "1m30", "s", "5 s s", "1..5s", "1e3", "ms5"])
    assert.equal(parseDurationSeconds(bad), undefined, bad);
  assert.equal(parseDurationSeconds(-1), undefined);
  assert.equal(parseDurationSeconds(Number.NaN), undefined);
});
