/**
 * What the RPC fuzzer asks of each answer: a status, and for a rejection a proper code (Connect
 * error body, gRPC status, or an HTTP status of the protocol layer: 404, 415...) with a message
 * that is not empty; never INTERNAL or UNKNOWN (a handler's bug shows so); no silence.
 */
import { fromBinary, fromJson } from "@bufbuild/protobuf";
import type { FuzzRequest } from "./fuzz-rpc-requests.js";
import { h2ErrorName, type WireResponse } from "./fuzz-rpc-wire.js";

export interface Answer {
  /** "ok", a code name ("invalid_argument"), "http 415", "stream open". */
  readonly outcome: string;
  readonly message: string;
  /** Why the answer breaks a promise. */
  readonly problem?: string;
}

const grpcCodes = [
  "ok",
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
];

/** HTTP statuses of the protocol layer, whose meaning is the status itself (no body). */
const protocolStatuses = new Set([400, 404, 405, 408, 413, 415, 431, 505]);

function rejection(code: string, message: string): Answer {
  if (!grpcCodes.includes(code))
    return { outcome: code, message, problem: `unknown code "${code}"` };
  if (message.trim() === "")
    return { outcome: code, message, problem: `${code} without a message` };
  // gRPC's table of status codes: "Error parsing request proto" is INTERNAL (connect-es: "parse
  // binary: ..."), and so are "Could not decompress" and a compressed flag without an encoding.
  if (
    code === "internal" &&
    /^(parse (binary|json|JSON): \S|received compressed envelope|decompression failed)/.test(
      message,
    )
  ) {
    return { outcome: "internal (undecodable request)", message };
  }
  if (code === "internal" || code === "unknown" || code === "data_loss") {
    return { outcome: code, message, problem: `${code}: ${message.slice(0, 300)}` };
  }
  return { outcome: code, message };
}

function grpcAnswer(res: WireResponse): Answer {
  const status = res.trailers["grpc-status"] ?? res.headers["grpc-status"];
  if (status === undefined) {
    return res.status === 200 ? { outcome: "stream open", message: "" } : httpAnswer(res);
  }
  const raw = res.trailers["grpc-message"] ?? res.headers["grpc-message"] ?? "";
  let message = raw;
  try {
    message = decodeURIComponent(raw);
  } catch {
    // left as sent
  }
  const code = grpcCodes[Number(status)] ?? `grpc ${status}`;
  return code === "ok" ? { outcome: "ok", message: "" } : rejection(code, message);
}

/** The end-of-stream message of a Connect stream (flag 2), if it came. */
function connectEndStream(body: Buffer): Answer | undefined {
  for (let at = 0; at + 5 <= body.length; ) {
    const len = body.readUInt32BE(at + 1);
    if ((body[at] as number) & 2) {
      const end = JSON.parse(body.subarray(at + 5, at + 5 + len).toString()) as {
        error?: { code?: string; message?: string };
      };
      if (end.error === undefined) return { outcome: "ok", message: "" };
      return rejection(end.error.code ?? "", end.error.message ?? "");
    }
    at += 5 + len;
  }
  return undefined;
}

function httpAnswer(res: WireResponse): Answer {
  const status = res.status ?? 0;
  try {
    const { code, message } = JSON.parse(res.body.toString()) as {
      code?: string;
      message?: string;
    };
    if (typeof code === "string") return rejection(code, message ?? "");
  } catch {
    // not a Connect error body
  }
  if (protocolStatuses.has(status)) return { outcome: `http ${status}`, message: `HTTP ${status}` };
  return {
    outcome: `http ${status}`,
    message: "",
    problem: `HTTP ${status} without an error body: ${res.body.toString().slice(0, 200)}`,
  };
}

/** The answer to `req`. */
export function answerOf(res: WireResponse, streaming = false): Answer {
  // A stream's status comes with its first message (or its end): none yet is a stream open.
  if (res.timedOut && streaming) return { outcome: "stream open", message: "" };
  if (res.timedOut)
    return { outcome: "timeout", message: "", problem: "no status before the deadline" };
  if (res.status === undefined) {
    return { outcome: "no answer", message: "", problem: `no answer: ${res.error ?? "?"}` };
  }
  const type = res.headers["content-type"] ?? "";
  if (type.startsWith("application/grpc")) return grpcAnswer(res);
  if (res.status === 200 && type.startsWith("application/connect+")) {
    return connectEndStream(res.body) ?? { outcome: "stream open", message: "" };
  }
  if (res.status === 200) return { outcome: "ok", message: "" };
  return httpAnswer(res);
}

/** The name of the process a successful Create answered, when it says. */
export function createdName(req: FuzzRequest, res: WireResponse): string | undefined {
  const schema = req.method.output;
  try {
    if (req.protocol === "connect-json") {
      const msg = fromJson(schema, JSON.parse(res.body.toString())) as {
        process?: { name: string };
      };
      return msg.process?.name;
    }
    const bytes =
      req.protocol === "grpc" ? res.body.subarray(5, 5 + res.body.readUInt32BE(1)) : res.body;
    return (fromBinary(schema, bytes) as { process?: { name: string } }).process?.name;
  } catch {
    return undefined;
  }
}

/** What came back to raw bytes: an HTTP/1.1 status, an HTTP/2 GOAWAY's code, or nothing. */
export function rawAnswer(bytes: Buffer): string {
  const text = bytes.subarray(0, 16).toString("latin1");
  if (text.startsWith("HTTP/1.")) return `h1 ${text.slice(9, 12)}`;
  for (let at = 0; at + 9 <= bytes.length; ) {
    const len = bytes.readUIntBE(at, 3);
    if (bytes[at + 3] === 7 && at + 17 <= bytes.length) {
      return `h2 GOAWAY ${h2ErrorName(bytes.readUInt32BE(at + 13))}`;
    }
    at += 9 + len;
  }
  return bytes.length === 0 ? "closed" : "h2 frames, then closed";
}
