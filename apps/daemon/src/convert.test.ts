import * as assert from "node:assert/strict";
import { test } from "node:test";
import { create, equals, fromBinary, isMessage, toBinary } from "@bufbuild/protobuf";
import { TimestampSchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { processFields, resolveProcessConfig } from "@procmgr/config";
import type { ProcessInfo } from "@procmgr/core";
import { ProcessState, ProcessStatusSchema } from "@procmgr/rpc";
import { specFields, toProcessStatus } from "./convert.js";

test("the API's spec fields are exactly the fields of processes.yaml", () => {
  assert.deepEqual([...specFields].sort(), [...processFields].sort());
});

test("toProcessStatus builds a complete ProcessStatus message (every field, valid types)", () => {
  const config = resolveProcessConfig("web", {
    command: "/bin/sleep",
    args: ["1"],
    user: "nobody",
  });
  const base: ProcessInfo = {
    id: "id-1",
    name: "web",
    source: "api",
    config,
    state: "running",
    runCount: 2,
    restartCount: 1,
    consecutiveFailures: 0,
    createdAt: new Date(1_000),
  };
  const infos: ProcessInfo[] = [
    base,
    {
      ...base,
      state: "backoff",
      pid: 42,
      uptimeMs: 1_500,
      startedAt: new Date(2_000),
      endedAt: new Date(3_000),
      nextRestartAt: new Date(4_000),
      failureReason: "exit 1",
      lastExit: {
        code: 1,
        signal: null,
        stoppedByUs: false,
        timedOut: false,
        success: false,
        startedAt: new Date(2_000),
        endedAt: new Date(3_000),
        durationMs: 1_000,
      },
    },
  ];
  const zeroKeys = Object.keys(create(ProcessStatusSchema));
  for (const info of infos) {
    const status = toProcessStatus(info);
    assert.ok(isMessage(status, ProcessStatusSchema));
    for (const key of zeroKeys) assert.ok(key in status, key);
    const back = fromBinary(ProcessStatusSchema, toBinary(ProcessStatusSchema, status));
    assert.ok(equals(ProcessStatusSchema, back, status));
  }
  const full = toProcessStatus(infos[1] as ProcessInfo);
  assert.equal(full.exitCode, 1);
  assert.equal(full.user, "nobody");
  assert.equal(full.uptimeSeconds, 1.5);
  assert.equal(full.nextRestartAt?.seconds, 4n);
  assert.equal(full.state, ProcessState.BACKOFF);
  assert.equal(toProcessStatus(base).startedAt, undefined);
  // Timestamps as protobuf-es's timestampFromDate makes them.
  for (const ms of [0, 1, 999, 1_000, 1_763_800_000_123, -1, -1_500]) {
    const t = toProcessStatus({ ...base, createdAt: new Date(ms) }).createdAt;
    assert.ok(t && equals(TimestampSchema, t, timestampFromDate(new Date(ms))), String(ms));
  }
});
