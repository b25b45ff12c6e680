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
  return new StatusListEncoder().listResponse(statuses);
}

/** A status as last encoded: the status, its bytes (its length first), where its uptime is. */
interface Encoded {
  readonly status: ProcessStatus;
  readonly bytes: Buffer;
  /** Offset of the uptime's 8 bytes in `bytes`; -1 when the status has no uptime. */
  readonly uptimeAt: number;
}

/**
 * listResponseOf for a daemon that answers List again and again: each process's status is
 * encoded once and kept until it changes. A status that differs from the kept one only in its
 * uptime (a double: always 8 bytes, at the same place) is the kept bytes with the new uptime
 * written over the old. The daemon's JavaScript runs unoptimized (apps/daemon/src/heap.ts),
 * where encoding a list of 1,000 took ~20 ms; comparing and copying is a fraction of it. The
 * bytes are listResponseOf's (status-codec.test.ts changes each field of the schema in turn).
 */
export class StatusListEncoder {
  private kept = new Map<string, Encoded>();
  /** Where a changed status is encoded before its bytes are kept (one buffer for all). */
  private readonly scratch = new Out();

  listResponse(statuses: readonly ProcessStatus[]): ListResponse {
    const out = new Out();
    const kept = new Map<string, Encoded>();
    const unknown = statuses.map((s) => {
      let e = this.kept.get(s.id);
      if (e === undefined || !sameButUptime(e.status, s)) e = encodeWithLength(this.scratch, s);
      kept.set(s.id, e);
      const at = out.pos;
      out.bytes(e.bytes);
      if (e.uptimeAt >= 0) out.buf.writeDoubleLE(s.uptimeSeconds, at + e.uptimeAt);
      return { at, end: out.pos };
    });
    // Only the processes of this list are kept: a deleted one is forgotten at the next list.
    this.kept = kept;
    const buf = out.buf;
    return {
      $typeName: "procmgr.v1.ListResponse",
      processes: [],
      $unknown: unknown.map(({ at, end }) => ({
        no: 1,
        wireType: LEN,
        data: buf.subarray(at, end),
      })),
    };
  }
}

/**
 * One status as a length-delimited field's data: its length, then its fields. Written into
 * `out` from its start, then copied out: a new Out per status was a 16 KiB buffer each (16 MiB
 * for a first list of 1,000).
 */
function encodeWithLength(out: Out, s: ProcessStatus): Encoded {
  out.pos = 0;
  // The fields go 3 bytes in (a status is far below 2 MiB: at most 3 bytes of length); the
  // length goes right before them.
  out.skip(3);
  const uptimeAt = writeStatusFields(out, s);
  const length = out.pos - 3;
  const at = 3 - varintSize(length);
  out.varintAt(at, length);
  return {
    status: s,
    bytes: Buffer.from(out.buf.subarray(at, out.pos)),
    uptimeAt: uptimeAt < 0 ? -1 : uptimeAt - at,
  };
}

/** The same status but for the uptime's value (whether it has one at all counts). */
function sameButUptime(a: ProcessStatus, b: ProcessStatus): boolean {
  return (
    a.id === b.id &&
    a.name === b.name &&
    a.pid === b.pid &&
    a.state === b.state &&
    a.command === b.command &&
    sameStrings(a.args, b.args) &&
    a.runCount === b.runCount &&
    a.restartCount === b.restartCount &&
    a.consecutiveFailures === b.consecutiveFailures &&
    a.exitCode === b.exitCode &&
    a.signal === b.signal &&
    a.user === b.user &&
    a.source === b.source &&
    a.failureReason === b.failureReason &&
    sameTime(a.nextRestartAt, b.nextRestartAt) &&
    sameTime(a.createdAt, b.createdAt) &&
    sameTime(a.startedAt, b.startedAt) &&
    sameTime(a.endedAt, b.endedAt) &&
    (a.uptimeSeconds === 0) === (b.uptimeSeconds === 0) &&
    a.autoStart === b.autoStart &&
    a.restart === b.restart
  );
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameTime(a: Timestamp | undefined, b: Timestamp | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.seconds === b.seconds && a.nanos === b.nanos;
}

/** A field's tag (field number and wire type) as the varint value written before it. */
const tagOf = (no: number, wireType: WireType): number => (no << 3) | wireType;
const BIT64 = WireType.Bit64;

/**
 * Each field is one call that writes its tag, length and value in place: the daemon's JavaScript
 * runs unoptimized (apps/daemon/src/heap.ts), where the cost is per call and per operation, and
 * a list of 1,000 is ~20,000 fields. Returns where the uptime's 8 bytes are (-1: none).
 */
function writeStatusFields(w: Out, s: ProcessStatus): number {
  if (s.id !== "") w.stringField(tagOf(1, LEN), s.id);
  if (s.name !== "") w.stringField(tagOf(2, LEN), s.name);
  if (s.pid !== 0) w.int32Field(tagOf(3, VARINT), s.pid);
  if (s.state !== 0) w.int32Field(tagOf(4, VARINT), s.state);
  if (s.command !== "") w.stringField(tagOf(5, LEN), s.command);
  for (const a of s.args) w.stringField(tagOf(6, LEN), a);
  if (s.runCount !== 0) w.int32Field(tagOf(7, VARINT), s.runCount);
  if (s.restartCount !== 0) w.int32Field(tagOf(8, VARINT), s.restartCount);
  if (s.consecutiveFailures !== 0) w.int32Field(tagOf(9, VARINT), s.consecutiveFailures);
  if (s.exitCode !== undefined) w.int32Field(tagOf(10, VARINT), s.exitCode);
  if (s.signal !== "") w.stringField(tagOf(11, LEN), s.signal);
  if (s.user !== "") w.stringField(tagOf(12, LEN), s.user);
  if (s.source !== 0) w.int32Field(tagOf(13, VARINT), s.source);
  if (s.failureReason !== "") w.stringField(tagOf(14, LEN), s.failureReason);
  if (s.nextRestartAt !== undefined) w.timestampField(tagOf(15, LEN), s.nextRestartAt);
  if (s.createdAt !== undefined) w.timestampField(tagOf(16, LEN), s.createdAt);
  if (s.startedAt !== undefined) w.timestampField(tagOf(17, LEN), s.startedAt);
  if (s.endedAt !== undefined) w.timestampField(tagOf(18, LEN), s.endedAt);
  const uptimeAt = s.uptimeSeconds !== 0 ? w.doubleField(tagOf(19, BIT64), s.uptimeSeconds) : -1;
  if (s.autoStart) w.int32Field(tagOf(20, VARINT), 1);
  if (s.restart !== 0) w.int32Field(tagOf(21, VARINT), s.restart);
  return uptimeAt;
}

function varintSize(n: number): number {
  let size = 1;
  while (n > 0x7f) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);

/** Bytes of an int64/int32 varint: negatives are 64-bit two's complement, always 10 bytes. */
function int64Size(v: bigint): number {
  if (v < 0n) return 10;
  if (v <= maxSafe) return varintSize(Number(v));
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

  /** An int32 (or enum, or uint32) field; negatives are 10-byte varints, as protobuf has them. */
  int32Field(tag: number, v: number): void {
    this.room(12);
    const p = this.varintAt(this.pos, tag);
    if (v >= 0) this.pos = this.varintAt(p, v);
    else {
      this.pos = p;
      this.int64(BigInt(v));
    }
  }

  stringField(tag: number, s: string): void {
    const n = Buffer.byteLength(s);
    this.room(n + 7);
    const p = this.varintAt(this.varintAt(this.pos, tag), n);
    this.pos = p + this.buf.write(s, p, "utf8");
  }

  /** Returns where the double's 8 bytes are. */
  doubleField(tag: number, v: number): number {
    this.room(10);
    const at = this.varintAt(this.pos, tag);
    this.pos = this.buf.writeDoubleLE(v, at);
    return at;
  }

  bytes(b: Buffer): void {
    this.room(b.length);
    this.pos += b.copy(this.buf, this.pos);
  }

  /** A google.protobuf.Timestamp field: seconds (1) and nanos (2), each left out when 0. */
  timestampField(tag: number, t: Timestamp): void {
    const seconds = t.seconds !== 0n ? 1 + int64Size(t.seconds) : 0;
    const nanos = t.nanos !== 0 ? 1 + (t.nanos > 0 ? varintSize(t.nanos) : 10) : 0;
    this.room(24);
    this.pos = this.varintAt(this.varintAt(this.pos, tag), seconds + nanos);
    if (seconds > 0) this.varint(tagOf(1, VARINT)).int64(t.seconds);
    if (nanos > 0) this.int32Field(tagOf(2, VARINT), t.nanos);
  }

  int64(v: bigint): this {
    if (v >= 0n && v <= maxSafe) return this.varint(Number(v));
    this.room(10);
    let u = BigInt.asUintN(64, v);
    while (u > 0x7fn) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
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
