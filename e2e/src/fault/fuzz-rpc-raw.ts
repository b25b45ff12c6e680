/**
 * Bytes no client library would send: HTTP/1.1 garbage (bad request lines, huge headers, bad
 * chunking) and HTTP/2 frames of any type, length and stream after the connection preface
 * (or half a preface); and requests past the size limit, in every protocol.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { CreateRequestSchema, ProcessManager } from "@procmgr/rpc";
import { type Rng, randomText } from "./fuzz-random.js";
import { envelope, type Protocol } from "./fuzz-rpc-requests.js";

const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer,
  length = payload.length,
) {
  const head = Buffer.alloc(9);
  head.writeUIntBE(Math.min(length, 0xffffff), 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream >>> 0, 5);
  return Buffer.concat([head, payload]);
}

function randomFrame(r: Rng): Buffer {
  const payload = Buffer.from(
    Array.from({ length: r.pick([0, 3, 8, 64, 20_000]) }, () => r.int(256)),
  );
  const length = r.chance(0.7) ? payload.length : r.int(0x1000000);
  return frame(
    r.int(12),
    r.int(256),
    r.pick([0, 1, 2, 3, 0x7fffffff, r.int(2 ** 32)]),
    payload,
    length,
  );
}

/** One raw input and what it is. */
export function rawInput(r: Rng): { bytes: Buffer; how: string } {
  const path = `/${ProcessManager.typeName}/List`;
  switch (r.int(6)) {
    case 0:
      return {
        bytes: Buffer.from(`${randomText(r, r.between(1, 200))}\r\n\r\n`),
        how: "h1 garbage line",
      };
    case 1:
      return {
        bytes: Buffer.from(
          `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(100_000)}\r\n\r\n`,
        ),
        how: "h1 huge header",
      };
    case 2:
      return {
        bytes: Buffer.from(
          `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nZZ\r\n{}\r\n`,
        ),
        how: "h1 bad chunking",
      };
    case 3:
      return {
        bytes: preface.subarray(0, r.between(1, preface.length - 1)),
        how: "half a preface",
      };
    default: {
      const frames = Array.from({ length: r.between(1, 6) }, () => randomFrame(r));
      const settings = r.chance(0.5) ? [frame(4, 0, 0, Buffer.alloc(0))] : [];
      return { bytes: Buffer.concat([preface, ...settings, ...frames]), how: "h2 random frames" };
    }
  }
}

/** A Create whose body is `size` bytes, in `protocol` (its description makes up the size). */
export function oversizedBody(protocol: Protocol, size: number): Buffer {
  const spec = { name: "big", command: "/bin/true", description: "" };
  if (protocol === "connect-json") {
    const head = JSON.stringify({ spec: { ...spec, description: "" } });
    const at = head.lastIndexOf('""') + 1;
    return Buffer.concat([
      Buffer.from(head.slice(0, at)),
      Buffer.alloc(size - head.length, "x"),
      Buffer.from(head.slice(at)),
    ]);
  }
  const message = (n: number) =>
    Buffer.from(
      toBinary(
        CreateRequestSchema,
        create(CreateRequestSchema, { spec: { ...spec, description: "x".repeat(n) } }),
      ),
    );
  const overhead = message(0).length + 4;
  const bin = message(Math.max(0, size - overhead - (protocol === "grpc" ? 5 : 0)));
  return protocol === "grpc" ? envelope(undefined, bin).body : bin;
}
