import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { parseDuration } from "@procmgr/config";
import { buildSpec } from "./spec-build.js";
import { baseExtraFlags, parseProxyArgs, specFlags } from "./spec-flags.js";

/** `update t --restart-sec VALUE`, as the update verb parses it. */
const restartSec = (value: string): unknown => {
  const p = parseProxyArgs(["t", "--restart-sec", value], {
    specFlags,
    extraFlags: baseExtraFlags,
  });
  return buildSpec(p.spec).spec.restartSec;
};

describe("duration flags", () => {
  it("accept every duration form processes.yaml accepts, with the same value", () => {
    for (const form of [
      "5",
      "0.5",
      "2min",
      "2 minutes",
      "1m 30s",
      "1.5min",
      "500msec",
      "250us",
      "1hr",
      "2hours",
      "1day",
      "3 days",
      "1h 2m 3s",
      "inf",
      "INFINITY",
    ]) {
      assert.equal(restartSec(form), parseDuration(form), form);
    }
  });
});
