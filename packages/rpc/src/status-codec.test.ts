import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  clone,
  create,
  type DescField,
  equals,
  fromBinary,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { type Timestamp, TimestampSchema, timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type ListResponse,
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
  StatusListEncoder,
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

/** `s` with one field changed to another valid value, whatever the field's kind. */
function withFieldChanged(s: ProcessStatus, field: DescField): ProcessStatus {
  const c = clone(ProcessStatusSchema, s);
  const r = reflect(ProcessStatusSchema, c);
  if (field.fieldKind === "list") {
    r.get(field).add("one more");
  } else if (field.fieldKind === "message") {
    const t = r.isSet(field) ? (r.get(field).message as Timestamp) : undefined;
    r.set(
      field,
      reflect(TimestampSchema, { ...create(TimestampSchema), seconds: (t?.seconds ?? 0n) + 1n }),
    );
  } else if (field.fieldKind === "enum") {
    r.set(field, (r.get(field) as number) + 1);
  } else if (field.scalar === ScalarType.STRING) {
    r.set(field, `${r.get(field) as string}+`);
  } else if (field.scalar === ScalarType.BOOL) {
    r.set(field, !(r.get(field) as boolean));
  } else if (field.scalar === ScalarType.DOUBLE) {
    r.set(field, (r.get(field) as number) + 1.5);
  } else {
    // Integers: one less (the samples hold the largest int32 and uint32), or one more from 0.
    const v = r.get(field) as number;
    r.set(field, v > 0 ? v - 1 : v + 1);
  }
  return c;
}

describe("StatusListEncoder (statuses kept between lists)", () => {
  const bytesOf = (r: ListResponse) => toBinary(ListResponseSchema, r);

  it("answers each list with listResponseOf's bytes when any one field changes", () => {
    const base = samples()[1] as ProcessStatus;
    const other = { ...(samples()[2] as ProcessStatus), id: "other" };
    for (const field of ProcessStatusSchema.fields) {
      const encoder = new StatusListEncoder();
      const changed = withFieldChanged(base, field);
      assert.notDeepEqual(bytesOf(listResponseOf([changed])), bytesOf(listResponseOf([base])));
      assert.deepEqual(
        bytesOf(encoder.listResponse([base, other])),
        bytesOf(listResponseOf([base, other])),
      );
      // The id is the key: a changed id is another process.
      assert.deepEqual(
        bytesOf(encoder.listResponse([changed, other])),
        bytesOf(listResponseOf([changed, other])),
        `after ${field.name} changed`,
      );
    }
  });

  it("writes a new uptime into the kept bytes, and re-encodes when the uptime comes or goes", () => {
    const encoder = new StatusListEncoder();
    const running = samples()[1] as ProcessStatus;
    const lists = [
      [running],
      [{ ...running, uptimeSeconds: 99.25 }],
      [{ ...running, uptimeSeconds: 0 }],
      [{ ...running, uptimeSeconds: 3 }],
      [],
      [{ ...running, uptimeSeconds: 4 }, samples()[0] as ProcessStatus],
    ];
    for (const list of lists) {
      assert.deepEqual(bytesOf(encoder.listResponse(list)), bytesOf(listResponseOf(list)));
    }
  });

  it("a list's bytes stay as they were when a later list writes another uptime", () => {
    const encoder = new StatusListEncoder();
    const running = samples()[1] as ProcessStatus;
    const first = encoder.listResponse([running]);
    encoder.listResponse([{ ...running, uptimeSeconds: 1234.5 }]);
    assert.deepEqual(bytesOf(first), bytesOf(listResponseOf([running])));
  });
});
