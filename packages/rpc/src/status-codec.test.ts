import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  ListResponseSchema,
  ListResponseWireSchema,
  ProcessSource,
  ProcessState,
  type ProcessStatus,
  ProcessStatusSchema,
  RestartPolicy,
} from "./gen/procmgr/v1/process_manager_pb.js";
import {
  decodeProcessStatus,
  encodeProcessStatus,
  listResponseOf,
  processStatusFieldNumbers,
} from "./status-codec.js";

/** Statuses covering every field: defaults, negatives, unicode, big numbers, each optional. */
function samples(): ProcessStatus[] {
  const ts = timestampFromMs(1_763_800_000_123);
  return [
    create(ProcessStatusSchema),
    create(ProcessStatusSchema, {
      id: "bc9c665e-5d9d-4d98-b280-b047b43365e8",
      name: "web-é-🚀",
      pid: 2_147_483_647,
      state: ProcessState.RUNNING,
      command: "/bin/sleep",
      args: ["100000", "", "a b"],
      runCount: 4_294_967_295,
      restartCount: 3,
      consecutiveFailures: 2,
      exitCode: -1,
      signal: "SIGKILL",
      user: "nobody",
      source: ProcessSource.API,
      failureReason: "start limit hit",
      nextRestartAt: ts,
      createdAt: timestampFromMs(0),
      startedAt: { seconds: -62_135_596_800n, nanos: 999_999_999 },
      endedAt: ts,
      uptimeSeconds: 12.345,
      autoStart: true,
      restart: RestartPolicy.ALWAYS,
    }),
    create(ProcessStatusSchema, { exitCode: 0, state: ProcessState.EXITED }),
    create(ProcessStatusSchema, { pid: -5, uptimeSeconds: -0.5, restart: 99 as RestartPolicy }),
  ];
}

describe("status codec", () => {
  it("handles every field of ProcessStatus (a new .proto field fails here until it is)", () => {
    assert.deepEqual(
      ProcessStatusSchema.fields.map((f) => f.number),
      [...processStatusFieldNumbers],
    );
  });

  it("encodes the same bytes as toBinary", () => {
    for (const s of samples()) {
      assert.deepEqual(encodeProcessStatus(s), toBinary(ProcessStatusSchema, s));
    }
  });

  it("decodes to the message fromBinary gives, with the same keys", () => {
    for (const s of samples()) {
      const bytes = toBinary(ProcessStatusSchema, s);
      const fast = decodeProcessStatus(bytes);
      const slow = fromBinary(ProcessStatusSchema, bytes);
      assert.ok(equals(ProcessStatusSchema, fast, slow), JSON.stringify(s.name));
      assert.deepEqual(Object.keys(fast), Object.keys(slow));
    }
  });

  it("hands what it does not know to fromBinary (a newer daemon's field is kept as unknown)", () => {
    const s = samples()[1] as ProcessStatus;
    const extra = new BinaryWriter().tag(99, WireType.LengthDelimited).string("from the future");
    const bytes = new Uint8Array([...encodeProcessStatus(s), ...extra.finish()]);
    const fast = decodeProcessStatus(bytes);
    assert.equal(fast.$unknown?.length, 1);
    assert.ok(equals(ProcessStatusSchema, fast, fromBinary(ProcessStatusSchema, bytes)));
    assert.equal(fast.name, s.name);
  });

  it("reads every truncated prefix as fromBinary does (the same error or the same message)", () => {
    const bytes = encodeProcessStatus(samples()[1] as ProcessStatus);
    let errors = 0;
    for (let cut = 1; cut < bytes.length; cut++) {
      const part = bytes.subarray(0, cut);
      let slow: ProcessStatus | undefined;
      try {
        slow = fromBinary(ProcessStatusSchema, part);
      } catch {
        errors++;
        assert.throws(() => decodeProcessStatus(part), `cut at ${cut}: fromBinary threw`);
        continue;
      }
      assert.ok(equals(ProcessStatusSchema, decodeProcessStatus(part), slow), `cut at ${cut}`);
    }
    assert.ok(errors > 10, `${errors} of the prefixes are errors`);
  });

  it("a ListResponse of encoded statuses is the bytes of the ordinary ListResponse", () => {
    // Enough statuses to outgrow the writer's first buffer several times.
    const list = Array.from({ length: 600 }, (_, i) => samples()[i % 4] as ProcessStatus);
    const ordinary = toBinary(ListResponseSchema, create(ListResponseSchema, { processes: list }));
    const prebuilt = toBinary(ListResponseSchema, listResponseOf(list));
    assert.deepEqual(prebuilt, ordinary);
    // Read back both ways: as ListResponse (any client) and as the wire view (the CLI).
    const back = fromBinary(ListResponseSchema, prebuilt).processes;
    const wire = fromBinary(ListResponseWireSchema, prebuilt).processes.map(decodeProcessStatus);
    list.forEach((s, i) => {
      assert.ok(equals(ProcessStatusSchema, back[i] as ProcessStatus, s));
      assert.ok(equals(ProcessStatusSchema, wire[i] as ProcessStatus, s));
    });
  });
});
