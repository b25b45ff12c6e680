/**
 * Requests as bytes, with no RPC library in the way: node:http (HTTP/1.1), node:http2 and raw
 * sockets, to the daemon's unix socket or TCP port. An answer is cut (and its stream cancelled)
 * at a deadline, as a streaming call never ends by itself.
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";

export type Target =
  | { readonly kind: "unix"; readonly path: string }
  | { readonly kind: "tcp"; readonly port: number };

export interface WireRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface WireResponse {
  readonly status?: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly trailers: Readonly<Record<string, string>>;
  /** The first MiB of the body. */
  readonly body: Buffer;
  /** The connection failed before a status came (reset, refused). */
  readonly error?: string;
  /** No status within the deadline. */
  readonly timedOut?: boolean;
}

const keepBytes = 1 << 20;

function connectTo(t: Target): net.Socket {
  return t.kind === "unix"
    ? net.createConnection(t.path)
    : net.createConnection(t.port, "127.0.0.1");
}

function flat(h: http.IncomingHttpHeaders | http2.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = String(v);
  return out;
}

/** Collects an answer; `done` settles once (status + body + trailers, an error, or the deadline). */
class Collector {
  status: number | undefined;
  headers: Record<string, string> = {};
  trailers: Record<string, string> = {};
  private chunks: Buffer[] = [];
  private size = 0;
  private settled = false;
  readonly done: Promise<WireResponse>;
  private resolve!: (r: WireResponse) => void;

  constructor() {
    this.done = new Promise((r) => {
      this.resolve = r;
    });
  }

  data(c: Buffer): void {
    if (this.size < keepBytes) this.chunks.push(c);
    this.size += c.length;
  }

  finish(extra: { error?: string; timedOut?: boolean } = {}): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve({
      ...(this.status === undefined ? {} : { status: this.status }),
      headers: this.headers,
      trailers: this.trailers,
      body: Buffer.concat(this.chunks),
      ...(this.status === undefined ? extra : {}),
    });
  }
}

/** One request over HTTP/1.1 on a connection of its own. */
export function sendH1(t: Target, req: WireRequest, deadlineMs: number): Promise<WireResponse> {
  const c = new Collector();
  const r = http.request({
    ...(t.kind === "unix" ? { socketPath: t.path } : { host: "127.0.0.1", port: t.port }),
    method: req.method,
    path: req.path,
    headers: { host: "localhost", ...req.headers },
    agent: false,
  });
  const timer = setTimeout(() => {
    c.finish({ timedOut: true });
    r.destroy();
  }, deadlineMs);
  r.on("response", (res) => {
    c.status = res.statusCode;
    c.headers = flat(res.headers);
    res.on("data", (d: Buffer) => c.data(d));
    res.on("end", () => {
      c.trailers = flat(res.trailers);
      c.finish();
    });
    res.on("error", () => c.finish());
  });
  r.on("error", (e) => c.finish({ error: e.message }));
  r.end(req.body);
  return c.done.finally(() => {
    clearTimeout(timer);
    r.destroy();
  });
}

/** HTTP/2 sessions, one per target, made again when one fails. */
export class H2Sessions {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();

  get(t: Target): http2.ClientHttp2Session {
    const key = t.kind === "unix" ? t.path : String(t.port);
    const live = this.sessions.get(key);
    if (live !== undefined && !live.closed && !live.destroyed) return live;
    const s = http2.connect("http://localhost", { createConnection: () => connectTo(t) });
    s.on("error", () => s.destroy());
    s.on("goaway", () => s.close());
    this.sessions.set(key, s);
    return s;
  }

  close(): void {
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }
}

/** HTTP/2's error codes (RFC 9113, section 7), by value. */
const h2Errors = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED",
];

/** The name of an HTTP/2 error code (a reset's, a GOAWAY's). */
export function h2ErrorName(code: number | undefined): string {
  return code === undefined ? "no code" : (h2Errors[code] ?? `code ${code}`);
}

/** One request as a stream of an HTTP/2 session. */
export function sendH2(
  sessions: H2Sessions,
  t: Target,
  req: WireRequest,
  deadlineMs: number,
): Promise<WireResponse> {
  const c = new Collector();
  let stream: http2.ClientHttp2Stream;
  try {
    stream = sessions.get(t).request({ ":method": req.method, ":path": req.path, ...req.headers });
  } catch (e) {
    c.finish({ error: `client: ${(e as Error).message}` });
    return c.done;
  }
  const timer = setTimeout(() => c.finish({ timedOut: true }), deadlineMs);
  stream.on("response", (h) => {
    c.status = Number(h[":status"]);
    c.headers = flat(h);
  });
  stream.on("data", (d: Buffer) => c.data(d));
  // gRPC's status is in the trailers: the call is over then, read or not.
  stream.on("trailers", (h) => {
    c.trailers = flat(h);
    c.finish();
  });
  // Ended without a response: the reset's code, which comes with "close", says why.
  stream.on("end", () => {
    if (c.status !== undefined) c.finish();
  });
  stream.on("close", () => c.finish({ error: `stream closed (${h2ErrorName(stream.rstCode)})` }));
  stream.on("error", (e) => c.finish({ error: e.message }));
  stream.end(req.body);
  return c.done.finally(() => {
    clearTimeout(timer);
    if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
  });
}

/** Raw bytes on a connection of their own; the first 64 KiB answered, within the deadline. */
export function sendRaw(t: Target, bytes: Buffer, deadlineMs: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = connectTo(t);
    const got: Buffer[] = [];
    let size = 0;
    const end = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(got));
    };
    const timer = setTimeout(end, deadlineMs);
    s.on("data", (d: Buffer) => {
      got.push(d);
      size += d.length;
      if (size > 65536) end();
    });
    s.on("error", end);
    s.on("close", end);
    s.write(bytes, () => s.end());
  });
}
