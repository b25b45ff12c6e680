/**
 * The RPC fuzzer's requests: for input i, method i mod 13 of ProcessManager, a listener
 * (unix socket, TCP with or without the token), HTTP/1.1 or HTTP/2, a protocol (Connect JSON,
 * Connect binary, gRPC), a valid request made from harmless seed values, then mutated: its
 * JSON as a tree or as bytes, its protobuf bytes (flips, truncation, invalid UTF-8, wrong wire
 * types, unknown and nested groups, huge repeated fields), its gRPC envelope (wrong lengths,
 * the compressed flag), its headers (content type, timeouts, protocol version, encodings).
 */
import { create, type DescMessage, type DescMethod, toBinary, toJson } from "@bufbuild/protobuf";
import { ProcessManager } from "@procmgr/rpc";
import { mutateBytes } from "./fuzz-bytes.js";
import { invalidUtf8, nastyString, type Rng } from "./fuzz-random.js";
import { mutateTree, toTree, toJson as treeJson } from "./fuzz-tree.js";

export type Protocol = "connect-json" | "connect-proto" | "grpc";

export interface FuzzRequest {
  readonly method: DescMethod;
  readonly protocol: Protocol;
  readonly http: 1 | 2;
  readonly listener: "unix" | "tcp";
  readonly token: boolean;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** What was done to it ("valid" when nothing). */
  readonly how: string;
}

export const methods: readonly DescMethod[] = ProcessManager.methods;

/** Harmless valid requests: the ids of the fuzz daemon's processes, /bin/true and sleep. */
function seedValues(r: Rng, method: DescMethod, index: number): Record<string, unknown> {
  const id = r.pick(["steady", "idle", "steady", "nope", ""]);
  const spec = {
    name: `fz${index}`,
    command: r.pick(["/bin/true", "/bin/sleep 30"]),
    args: ["x"],
    env: { A: "1" },
    description: "fuzz",
    autoStart: r.chance(0.3),
    restartSec: 0.5,
  };
  switch (method.name) {
    case "Create":
      return { spec };
    case "Start":
    case "Stop":
    case "Restart":
      return r.chance(0.7) ? { id } : { ids: [id, "idle"] };
    case "Delete":
      return { id: r.pick(["nope", `fz${index - 13}`, ""]), force: r.chance(0.5) };
    case "Describe":
    case "GetResourceUsage":
      return { id };
    case "Update":
      return {
        id,
        spec: { description: "updated", restartSec: 2 },
        fields: ["description", "restart_sec"],
        dryRun: r.chance(0.5),
      };
    case "ReloadConfig":
      return { dryRun: r.chance(0.8) };
    case "WatchEvents":
      return { ids: r.chance(0.5) ? [] : [id] };
    case "TailLogs":
      return { id, lines: 5, follow: r.chance(0.3) };
    default:
      return {};
  }
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 127) {
    out.push((v & 127) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** A length-delimited field (wire type 2). */
function lenField(field: number, payload: Buffer): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(payload.length), payload]);
}

/** One mutation of protobuf bytes. */
function mutateProto(r: Rng, b: Buffer): { body: Buffer; how: string } {
  switch (r.int(9)) {
    case 0: {
      const out = Buffer.from(b);
      for (let k = 0; k < r.between(1, 4) && out.length > 0; k++)
        out[r.int(out.length)] = r.int(256);
      return { body: out, how: "proto flipped" };
    }
    case 1:
      return { body: b.subarray(0, r.int(b.length + 1)), how: "proto truncated" };
    case 2:
      return {
        body: Buffer.concat([
          b,
          lenField(1, Buffer.concat([Buffer.from("ok"), r.pick(invalidUtf8)])),
        ]),
        how: "proto invalid utf-8",
      };
    case 3:
      return {
        body: Buffer.concat([b, Buffer.from([0x08]), Buffer.alloc(11, 0xff)]),
        how: "proto varint overflow",
      };
    case 4:
      return {
        body: Buffer.concat([b, Buffer.from([0x0a]), varint(2 ** 31 - 1), Buffer.from("x")]),
        how: "proto length past end",
      };
    case 5: {
      // An unknown field as groups nested `depth` deep (wire types 3 and 4).
      const depth = r.pick([100, 10_000]);
      const start = varint((999 << 3) | 3);
      const end = varint((999 << 3) | 4);
      const body = Buffer.concat([b, ...Array(depth).fill(start), ...Array(depth).fill(end)]);
      return { body, how: `proto ${depth} nested groups` };
    }
    case 6: {
      const n = r.pick([1000, 100_000, 1_000_000]);
      const item = lenField(r.pick([1, 2, 3]), Buffer.from("x"));
      return { body: Buffer.concat([b, ...Array(n).fill(item)]), how: `proto ${n} repeated` };
    }
    case 7:
      return {
        body: Buffer.concat([
          b,
          lenField(r.between(50, 536_870_911), Buffer.from(nastyString(r, 64))),
        ]),
        how: "proto unknown field",
      };
    default:
      return {
        body: Buffer.concat([b, Buffer.from([0x0a, 0x05, 0x08, 0x01])]),
        how: "proto wrong wire type",
      };
  }
}

/** One mutation of a JSON body. */
function mutateJsonBody(
  r: Rng,
  json: unknown,
  names: readonly string[],
): { body: Buffer; how: string } {
  const text = JSON.stringify(json);
  switch (r.int(8)) {
    case 0:
    case 1:
    case 2:
      return { body: Buffer.from(treeJson(mutateTree(r, toTree(json), names))), how: "json tree" };
    case 3:
      return { body: mutateBytes(r, Buffer.from(text)), how: "json bytes" };
    case 4: {
      const depth = r.pick([1000, 10_000]);
      return {
        body: Buffer.from(`{"${r.pick(names)}":${"[".repeat(depth)}${"]".repeat(depth)}}`),
        how: `json ${depth} nested`,
      };
    }
    case 5: {
      const at = text.indexOf('"', text.indexOf(":") + 1);
      const cut = at < 0 ? 1 : at + 1;
      return {
        body: Buffer.concat([
          Buffer.from(text.slice(0, cut)),
          r.pick(invalidUtf8),
          Buffer.from(text.slice(cut)),
        ]),
        how: "json invalid utf-8",
      };
    }
    case 6: {
      const n = r.pick([1000, 100_000]);
      const field = r.pick(["ids", "fields", "args"]);
      return {
        body: Buffer.from(`{"${field}":[${Array(n).fill('"x"').join(",")}]}`),
        how: `json ${n} repeated`,
      };
    }
    default:
      return {
        body: Buffer.from(
          r.pick(["", "null", "[]", '"s"', "{", "{}{}", "\u0000", nastyString(r, 200)]),
        ),
        how: "json garbage",
      };
  }
}

/** The gRPC envelope: flags, 4-byte length, message; with `r`, sometimes lying about either. */
export function envelope(r: Rng | undefined, payload: Buffer): { body: Buffer; how: string } {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  const whole = (how: string) => ({ body: Buffer.concat([head, payload]), how });
  if (r === undefined) return whole("envelope");
  switch (r.int(10)) {
    case 0:
      head.writeUInt32BE(payload.length + r.between(1, 1000), 1);
      return whole("envelope length +");
    case 1:
      head.writeUInt32BE(Math.max(0, payload.length - 1), 1);
      return whole("envelope length -");
    case 2:
      head[0] = 1;
      return whole("compressed flag");
    case 3:
      head[0] = r.pick([0x80, 0x02, 0xff]);
      return whole("envelope flags");
    case 4:
      return { body: head.subarray(0, r.between(0, 4)), how: "envelope cut" };
    case 5:
      return { body: Buffer.concat([head, payload, head, payload]), how: "two envelopes" };
    default:
      return whole("envelope");
  }
}

const contentTypes: Record<Protocol, [unary: string, stream: string]> = {
  "connect-json": ["application/json", "application/connect+json"],
  "connect-proto": ["application/proto", "application/connect+proto"],
  grpc: ["application/grpc", "application/grpc"],
};

/** Garbage for one header (printable: Node refuses to send anything else). */
function badHeader(r: Rng, protocol: Protocol): [string, string] {
  const garbage = r.pick([
    "",
    "abc",
    "-1",
    "99999999999999999999",
    "1.5",
    "0",
    "H",
    "1n",
    "99999999H",
    "-5S",
    "utf-8; x",
  ]);
  return r.pick<[string, string]>([
    [
      "content-type",
      r.pick([
        "text/plain",
        "application/json; charset=latin1",
        "application/grpc+json",
        "application/x",
        "*/*",
        garbage,
      ]),
    ],
    ["connect-protocol-version", r.pick(["2", "0", garbage])],
    ["connect-timeout-ms", garbage],
    ["grpc-timeout", garbage],
    [
      protocol === "grpc" ? "grpc-encoding" : "content-encoding",
      r.pick(["gzip", "br", "identity", "zstd", garbage]),
    ],
    ["connect-content-encoding", r.pick(["gzip", garbage])],
    ["accept-encoding", garbage],
    ["authorization", r.pick(["Bearer", "Bearer x", "Basic Zm9vOmJhcg==", garbage])],
  ]);
}

/** The request for input `index` (its generator `r`), with the daemon's `token`. */
export function fuzzRequest(r: Rng, index: number, token: string): FuzzRequest {
  const method = methods[index % methods.length] as DescMethod;
  const protocol = r.pick<Protocol>(["connect-json", "connect-proto", "grpc"]);
  const streaming = method.methodKind === "server_streaming";
  const schema: DescMessage = method.input;
  const msg = create(schema, seedValues(r, method, index) as never);
  const names = schema.fields.flatMap((f) => [
    f.jsonName,
    f.name,
    ...(f.message?.fields.map((g) => g.jsonName) ?? []),
  ]);
  let body: Buffer;
  let how = "valid";
  const mutate = r.chance(0.85);
  if (protocol === "connect-json") {
    const json = toJson(schema, msg);
    ({ body, how } = mutate
      ? mutateJsonBody(r, json, names)
      : { body: Buffer.from(JSON.stringify(json)), how });
  } else {
    const bin = Buffer.from(toBinary(schema, msg));
    ({ body, how } = mutate && r.chance(0.8) ? mutateProto(r, bin) : { body: bin, how });
  }
  if (protocol === "grpc" || streaming) {
    const env = envelope(mutate && r.chance(0.3) ? r : undefined, body);
    body = env.body;
    if (env.how !== "envelope") how = `${how}, ${env.how}`;
  }
  const headers: Record<string, string> = {
    "content-type": contentTypes[protocol][streaming ? 1 : 0],
  };
  if (protocol === "grpc") headers.te = "trailers";
  else if (r.chance(0.5)) headers["connect-protocol-version"] = "1";
  const listener = r.chance(0.5) ? "unix" : "tcp";
  const withToken = listener === "tcp" && r.chance(0.75);
  if (withToken) headers.authorization = `Bearer ${token}`;
  if (mutate && r.chance(0.12)) {
    const [k, v] = badHeader(r, protocol);
    headers[k] = v;
    how = `${how}, header ${k}`;
  }
  return {
    method,
    protocol,
    http: r.chance(protocol === "grpc" ? 0.8 : 0.5) ? 2 : 1,
    listener,
    token: withToken,
    path: `/${ProcessManager.typeName}/${method.name}`,
    headers,
    body,
    how,
  };
}
