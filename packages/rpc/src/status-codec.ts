import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import {
  type ListResponse,
  type ProcessStatus,
  ProcessStatusSchema,
} from "./gen/procmgr/v1/process_manager_pb.js";

/**
 * ProcessStatus written and read field by field, for List: protobuf-es encodes and decodes
 * through reflection, ~60 ms each way for 1,000 statuses in a cold process (every CLI call is
 * one). The bytes are exactly those of `toBinary(ProcessStatusSchema, s)` and the decoded
 * message equals `fromBinary`'s (status-codec.test.ts checks both, and that every field of the
 * schema is handled here: a field added to the .proto fails that test until it is).
 * Anything this reader does not expect (an unknown field, another wire type) is handed to
 * `fromBinary`, so a newer daemon's statuses decode all the same.
 */

/** The field numbers handled below, in order. */
export const processStatusFieldNumbers = [
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
] as const;

const LEN = WireType.LengthDelimited;
const VARINT = WireType.Varint;

export function encodeProcessStatus(s: ProcessStatus): Uint8Array {
  const out = new Out();
  writeStatusFields(out, s);
  return new Uint8Array(out.buf.subarray(0, out.pos));
}

/**
 * The ListResponse of these statuses, encoded here: its `toBinary` is the same bytes as that of
 * `create(ListResponseSchema, { processes })` (each status goes out as field 1,
 * length-delimited, through protobuf-es's writer of unknown fields), so every client reads it as
 * usual; only the encoding is done here instead of by reflection.
 */
export function listResponseOf(statuses: readonly ProcessStatus[]): ListResponse {
  const out = new Out();
  const unknown = statuses.map((s) => {
    // The fields go 3 bytes after `start`; the length (a status is far below 2 MiB, so at most
    // 3 bytes of varint) goes right before them.
    const start = out.pos;
    out.skip(3);
    writeStatusFields(out, s);
    const length = out.pos - start - 3;
    const prefix = varintSize(length);
    const at = start + 3 - prefix;
    out.varintAt(at, length);
    return { at, end: out.pos };
  });
  const buf = out.buf;
  return {
    $typeName: "procmgr.v1.ListResponse",
    processes: [],
    $unknown: unknown.map(({ at, end }) => ({ no: 1, wireType: LEN, data: buf.subarray(at, end) })),
  };
}

function writeStatusFields(w: Out, s: ProcessStatus): void {
  if (s.id !== "") w.tag(1, LEN).string(s.id);
  if (s.name !== "") w.tag(2, LEN).string(s.name);
  if (s.pid !== 0) w.tag(3, VARINT).int32(s.pid);
  if (s.state !== 0) w.tag(4, VARINT).int32(s.state);
  if (s.command !== "") w.tag(5, LEN).string(s.command);
  for (const a of s.args) w.tag(6, LEN).string(a);
  if (s.runCount !== 0) w.tag(7, VARINT).varint(s.runCount);
  if (s.restartCount !== 0) w.tag(8, VARINT).varint(s.restartCount);
  if (s.consecutiveFailures !== 0) w.tag(9, VARINT).varint(s.consecutiveFailures);
  if (s.exitCode !== undefined) w.tag(10, VARINT).int32(s.exitCode);
  if (s.signal !== "") w.tag(11, LEN).string(s.signal);
  if (s.user !== "") w.tag(12, LEN).string(s.user);
  if (s.source !== 0) w.tag(13, VARINT).int32(s.source);
  if (s.failureReason !== "") w.tag(14, LEN).string(s.failureReason);
  writeTimestamp(w, 15, s.nextRestartAt);
  writeTimestamp(w, 16, s.createdAt);
  writeTimestamp(w, 17, s.startedAt);
  writeTimestamp(w, 18, s.endedAt);
  if (s.uptimeSeconds !== 0) w.tag(19, WireType.Bit64).double(s.uptimeSeconds);
  if (s.autoStart) w.tag(20, VARINT).varint(1);
  if (s.restart !== 0) w.tag(21, VARINT).int32(s.restart);
}

function writeTimestamp(w: Out, no: number, t: Timestamp | undefined): void {
  if (t === undefined) return;
  const seconds = t.seconds !== 0n ? 1 + int64Size(t.seconds) : 0;
  const nanos = t.nanos !== 0 ? 1 + int64Size(BigInt(t.nanos)) : 0;
  w.tag(no, LEN).varint(seconds + nanos);
  if (seconds > 0) w.tag(1, VARINT).int64(t.seconds);
  if (nanos > 0) w.tag(2, VARINT).int32(t.nanos);
}

function varintSize(n: number): number {
  let size = 1;
  while (n > 0x7f) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Bytes of an int64/int32 varint: negatives are 64-bit two's complement, always 10 bytes. */
function int64Size(v: bigint): number {
  if (v < 0n) return 10;
  let size = 1;
  while (v > 0x7fn) {
    v >>= 7n;
    size++;
  }
  return size;
}

/**
 * A growing Buffer with the few protobuf writes a status needs. protobuf-es's BinaryWriter
 * encodes every string with a TextEncoder call and copies chunks on fork/join and finish:
 * ~20 µs per status; this writes in place.
 */
class Out {
  buf = Buffer.allocUnsafe(16 * 1024);
  pos = 0;

  skip(n: number): void {
    this.room(n);
    this.pos += n;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  tag(no: number, wireType: WireType): this {
    return this.varint((no << 3) | wireType);
  }

  /** A non-negative integer up to 2^53 as a varint. */
  varint(n: number): this {
    this.room(10);
    this.pos = this.varintAt(this.pos, n);
    return this;
  }

  /** Writes the varint of `n` at `at`; returns the position after it. */
  varintAt(at: number, n: number): number {
    let p = at;
    while (n > 0x7f) {
      this.buf[p++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[p++] = n;
    return p;
  }

  int32(v: number): this {
    return v >= 0 ? this.varint(v) : this.int64(BigInt(v));
  }

  int64(v: bigint): this {
    if (v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return this.varint(Number(v));
    this.room(10);
    let u = BigInt.asUintN(64, v);
    while (u > 0x7fn) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
    return this;
  }

  double(v: number): this {
    this.room(8);
    this.pos = this.buf.writeDoubleLE(v, this.pos);
    return this;
  }

  string(s: string): this {
    const n = Buffer.byteLength(s);
    this.varint(n);
    this.room(n);
    this.pos += this.buf.write(s, this.pos, "utf8");
    return this;
  }
}

export function decodeProcessStatus(bytes: Uint8Array): ProcessStatus {
  const s: ProcessStatus = {
    $typeName: "procmgr.v1.ProcessStatus",
    id: "",
    name: "",
    pid: 0,
    state: 0,
    command: "",
    args: [],
    runCount: 0,
    restartCount: 0,
    consecutiveFailures: 0,
    signal: "",
    user: "",
    source: 0,
    failureReason: "",
    uptimeSeconds: 0,
    autoStart: false,
    restart: 0,
  };
  const r = new BinaryReader(bytes);
  // Strings straight from a Buffer view: TextDecoder (BinaryReader.string) costs more per call
  // than the short strings of a status are long.
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const str = (): string => {
    const end = r.uint32() + r.pos;
    const text = buf.toString("utf8", r.pos, end);
    r.pos = end;
    return text;
  };
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    const len = wt === LEN;
    const varint = wt === VARINT;
    if (no === 1 && len) s.id = str();
    else if (no === 2 && len) s.name = str();
    else if (no === 3 && varint) s.pid = r.int32();
    else if (no === 4 && varint) s.state = r.int32();
    else if (no === 5 && len) s.command = str();
    else if (no === 6 && len) s.args.push(str());
    else if (no === 7 && varint) s.runCount = r.uint32();
    else if (no === 8 && varint) s.restartCount = r.uint32();
    else if (no === 9 && varint) s.consecutiveFailures = r.uint32();
    else if (no === 10 && varint) s.exitCode = r.int32();
    else if (no === 11 && len) s.signal = str();
    else if (no === 12 && len) s.user = str();
    else if (no === 13 && varint) s.source = r.int32();
    else if (no === 14 && len) s.failureReason = str();
    else if (no >= 15 && no <= 18 && len) {
      const t = readTimestamp(r);
      if (t === undefined) return fromBinary(ProcessStatusSchema, bytes);
      s[timestampFields[no - 15] as TimestampField] = t;
    } else if (no === 19 && wt === WireType.Bit64) s.uptimeSeconds = r.double();
    else if (no === 20 && varint) s.autoStart = r.bool();
    else if (no === 21 && varint) s.restart = r.int32();
    else return fromBinary(ProcessStatusSchema, bytes);
  }
  return s;
}

/** Fields 15 to 18, in order. */
const timestampFields = ["nextRestartAt", "createdAt", "startedAt", "endedAt"] as const;
type TimestampField = (typeof timestampFields)[number];

/** A Timestamp, or undefined when it holds anything else (the caller then uses fromBinary). */
function readTimestamp(r: BinaryReader): Timestamp | undefined {
  const end = r.uint32() + r.pos;
  const t: Timestamp = { $typeName: "google.protobuf.Timestamp", seconds: 0n, nanos: 0 };
  while (r.pos < end) {
    const [no, wt] = r.tag();
    if (no === 1 && wt === VARINT) t.seconds = BigInt(r.int64());
    else if (no === 2 && wt === VARINT) t.nanos = r.int32();
    else return undefined;
  }
  return t;
}
