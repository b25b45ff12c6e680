import { fromBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
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
  const r = new In(bytes);
  while (r.pos < r.end) {
    const tag = r.varint();
    const no = tag >>> 3;
    const wireType = tag & 7;
    if (wireType === LEN) {
      const end = r.varint() + r.pos;
      if (no === 1) s.id = r.string(end);
      else if (no === 2) s.name = r.string(end);
      else if (no === 5) s.command = r.string(end);
      else if (no === 6) s.args.push(r.string(end));
      else if (no === 11) s.signal = r.string(end);
      else if (no === 12) s.user = r.string(end);
      else if (no === 14) s.failureReason = r.string(end);
      else if (no >= 15 && no <= 18) {
        const t = readTimestamp(r, end);
        if (t === undefined) return fromBinary(ProcessStatusSchema, bytes);
        s[timestampFields[no - 15] as TimestampField] = t;
      } else return fromBinary(ProcessStatusSchema, bytes);
    } else if (wireType === VARINT) {
      if (no === 3) s.pid = r.int32();
      else if (no === 4) s.state = r.int32();
      else if (no === 7) s.runCount = r.varint();
      else if (no === 8) s.restartCount = r.varint();
      else if (no === 9) s.consecutiveFailures = r.varint();
      else if (no === 10) s.exitCode = r.int32();
      else if (no === 13) s.source = r.int32();
      else if (no === 20) s.autoStart = r.varint() !== 0;
      else if (no === 21) s.restart = r.int32();
      else return fromBinary(ProcessStatusSchema, bytes);
    } else if (no === 19 && wireType === WireType.Bit64) s.uptimeSeconds = r.double();
    else return fromBinary(ProcessStatusSchema, bytes);
    if (r.pos > r.end) return fromBinary(ProcessStatusSchema, bytes);
  }
  return s;
}

/** Fields 15 to 18, in order. */
const timestampFields = ["nextRestartAt", "createdAt", "startedAt", "endedAt"] as const;
type TimestampField = (typeof timestampFields)[number];

/**
 * A Timestamp ending at `end`, or undefined when it holds anything else or seconds beyond 2^53
 * (the caller then uses fromBinary).
 */
function readTimestamp(r: In, end: number): Timestamp | undefined {
  let seconds = 0;
  let nanos = 0;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === ((1 << 3) | VARINT)) seconds = r.varint();
    else if (tag === ((2 << 3) | VARINT)) nanos = r.int32();
    else return undefined;
  }
  if (!Number.isSafeInteger(seconds)) return undefined;
  return { $typeName: "google.protobuf.Timestamp", seconds: BigInt(seconds), nanos };
}

/**
 * The few protobuf reads a status needs, on a Buffer view of the bytes. Every CLI call decodes
 * its statuses in a cold process, i.e. in V8's interpreter, where each call and each allocation
 * counts: protobuf-es's BinaryReader (a `[no, wireType]` array per tag, int64 through strings or
 * BigInt, TextDecoder per string) took 20-55 ms for 1,000 statuses, this 10-14 ms.
 */
class In {
  readonly buf: Buffer;
  readonly end: number;
  pos = 0;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.end = bytes.byteLength;
  }

  /**
   * A varint as a number: exact up to 2^53, larger values lose precision, and a negative int32
   * (10 bytes) comes out as a large number (use int32). A truncated one leaves `pos` past `end`.
   */
  varint(): number {
    const buf = this.buf;
    let byte = buf[this.pos++] ?? 0;
    if (byte < 0x80) return byte;
    let n = byte & 0x7f;
    for (let shift = 7; byte >= 0x80 && shift < 70; shift += 7) {
      byte = buf[this.pos++] ?? 0;
      n += (byte & 0x7f) * 2 ** shift;
    }
    if (byte >= 0x80) this.pos = this.end + 1;
    return n;
  }

  /** An int32 varint: the low 32 bits, signed (negatives are written sign-extended to 64). */
  int32(): number {
    const buf = this.buf;
    let byte = buf[this.pos++] ?? 0;
    if (byte < 0x80) return byte;
    let n = byte & 0x7f;
    for (let shift = 7; byte >= 0x80 && shift < 70; shift += 7) {
      byte = buf[this.pos++] ?? 0;
      if (shift < 32) n |= (byte & 0x7f) << shift;
    }
    if (byte >= 0x80) this.pos = this.end + 1;
    return n | 0;
  }

  double(): number {
    if (this.pos + 8 > this.end) {
      this.pos = this.end + 1;
      return 0;
    }
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** The UTF-8 text from here to `end` (TextDecoder costs more per call than these strings). */
  string(end: number): string {
    if (end > this.end) {
      this.pos = this.end + 1;
      return "";
    }
    const text = this.buf.toString("utf8", this.pos, end);
    this.pos = end;
    return text;
  }
}
