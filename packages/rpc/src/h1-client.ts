import type { Socket } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import type {
  UniversalClientFn,
  UniversalClientRequest,
  UniversalClientResponse,
} from "@connectrpc/connect/protocol";

/**
 * The HTTP client under the daemon transport: HTTP/1.1 written on a plain socket, one connection
 * per call (`connection: close`), carrying the Connect protocol that the daemon serves on the same
 * socket as gRPC. Unary and server-streaming calls, which is every method of the service.
 *
 * Why not node:http or node:http2: a CLI run is one or two calls, and in a cold process (the
 * single executable, whose startup snapshot cannot hold Node 20's http modules) loading and first
 * running them cost 20-30 ms of a ~90 ms `pm-cli list`; this reader is in the snapshot and needs
 * none of that (bench/README.md, "CLI round trip").
 *
 * A response is read as RFC 9112 frames it: a status line and header fields, then a body of
 * `content-length` bytes, or `chunked` (with trailer fields), or up to the end of the connection.
 */
export class H1Client {
  private readonly open = new Set<Socket>();

  /**
   * @param connect opens a new connection to the daemon (net.createConnection)
   * @param host the `host` header (`localhost` for a unix socket)
   */
  constructor(
    private readonly connect: () => Socket,
    private readonly host: string,
  ) {}

  /** The UniversalClientFn for connect's protocol-connect transport. */
  readonly request: UniversalClientFn = (req) => this.call(req);

  /** Ends every open call at once; they fail with CANCELED. */
  close(): void {
    const err = new ConnectError("the connection to the daemon was closed", Code.Canceled);
    for (const socket of this.open) socket.destroy(err);
    this.open.clear();
  }

  private async call(req: UniversalClientRequest): Promise<UniversalClientResponse> {
    const signal = req.signal;
    const chunks: Uint8Array[] = [];
    if (req.body !== undefined) for await (const chunk of req.body) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const head = requestHead(req, this.host, body.length);
    if (signal?.aborted) throw ConnectError.from(signal.reason, Code.Canceled);

    return await new Promise((resolve, reject) => {
      const socket = this.connect();
      this.open.add(socket);
      const reader = new ResponseReader();
      let response: UniversalClientResponse | undefined;
      const fail = (e: unknown): void => {
        const ce = connectErrorOf(e);
        if (response === undefined) reject(ce);
        reader.fail(ce);
        socket.destroy();
      };
      const onAbort = (): void => fail(ConnectError.from(signal?.reason, Code.Canceled));
      signal?.addEventListener("abort", onAbort, { once: true });
      reader.onDone = () => {
        signal?.removeEventListener("abort", onAbort);
        socket.destroy();
      };
      reader.onBackpressure = (full) => {
        if (full) socket.pause();
        else socket.resume();
      };
      socket.on("data", (data: Buffer) => {
        try {
          reader.feed(data);
        } catch (e) {
          fail(e);
          return;
        }
        if (response === undefined && reader.status !== undefined) {
          response = {
            status: reader.status,
            header: reader.header,
            body: reader.body(fail),
            trailer: reader.trailer,
          };
          resolve(response);
        }
      });
      socket.on("error", fail);
      socket.once("close", () => {
        this.open.delete(socket);
        signal?.removeEventListener("abort", onAbort);
        try {
          reader.end();
        } catch (e) {
          fail(e);
        }
      });
      socket.write(Buffer.concat([head, body]));
    });
  }
}

/**
 * The request line and header fields. (Headers has refused names that are not tokens and values
 * with CR, LF or NUL: a field cannot end early.)
 */
function requestHead(req: UniversalClientRequest, host: string, length: number): Buffer {
  const url = new URL(req.url);
  let head = `${req.method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\ncontent-length: ${length}\r\n`;
  req.header.forEach((value, name) => {
    head += `${name}: ${value}\r\n`;
  });
  return Buffer.from(`${head}\r\n`, "latin1");
}

const maxHeadBytes = 64 * 1024;
/** Pause the socket above this many unread body bytes, resume below a quarter of it. */
const highWaterBytes = 4 * 1024 * 1024;

type Framing =
  | { kind: "length"; remaining: number }
  | { kind: "chunked"; state: "size" | "data" | "data-end" | "trailer"; remaining: number }
  | { kind: "close" };

/** Reads one HTTP/1.1 response from the bytes it is fed. */
class ResponseReader {
  status: number | undefined;
  readonly header = new Headers();
  readonly trailer = new Headers();
  onDone: () => void = () => {};
  onBackpressure: (full: boolean) => void = () => {};

  private pending: Buffer = Buffer.alloc(0);
  private framing: Framing | undefined;
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private paused = false;
  private finished = false;
  private failure: ConnectError | undefined;
  private wake: (() => void) | undefined;

  /** Bytes from the connection; throws on a malformed response. */
  feed(data: Buffer): void {
    if (this.finished || this.failure !== undefined) return;
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    if (this.framing === undefined) {
      const end = this.pending.indexOf("\r\n\r\n");
      if (end < 0) {
        if (this.pending.length > maxHeadBytes) throw malformed("the response head is too long");
        return;
      }
      this.readHead(this.pending.subarray(0, end).toString("latin1"));
      this.pending = this.pending.subarray(end + 4);
    }
    this.readBody();
  }

  /** The connection ended: complete only when the framing says the body was complete. */
  end(): void {
    if (this.finished || this.failure !== undefined) return;
    if (this.framing?.kind === "close") {
      this.finish();
      return;
    }
    throw new ConnectError("the connection to the daemon broke", Code.Unavailable);
  }

  fail(e: ConnectError): void {
    if (this.finished || this.failure !== undefined) return;
    this.failure = e;
    this.wakeReader();
  }

  /** The body, as connect reads it (`throw` is required by its pipes: it resets the call). */
  body(fail: (e: unknown) => void): AsyncIterable<Uint8Array> {
    return {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<Uint8Array>> => {
          for (;;) {
            const chunk = this.queue.shift();
            if (chunk !== undefined) {
              this.queued -= chunk.length;
              if (this.paused && this.queued < highWaterBytes / 4) {
                this.paused = false;
                this.onBackpressure(false);
              }
              return { done: false, value: chunk };
            }
            if (this.failure !== undefined) throw this.failure;
            if (this.finished) return { done: true, value: undefined };
            await new Promise<void>((resolve) => {
              this.wake = resolve;
            });
          }
        },
        throw: async (e: unknown): Promise<IteratorResult<Uint8Array>> => {
          fail(e);
          throw e;
        },
      }),
    };
  }

  private readHead(text: string): void {
    const lines = text.split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0] ?? "");
    if (m === null) throw malformed(`unexpected status line ${JSON.stringify(lines[0])}`);
    for (const line of lines.slice(1)) addField(this.header, line);
    const encoding = this.header.get("transfer-encoding");
    const length = this.header.get("content-length");
    if (encoding !== null) {
      if (encoding.trim().toLowerCase() !== "chunked") {
        throw malformed(`unsupported transfer-encoding ${JSON.stringify(encoding)}`);
      }
      this.framing = { kind: "chunked", state: "size", remaining: 0 };
    } else if (length !== null) {
      if (!/^\d+$/.test(length.trim())) throw malformed(`bad content-length ${length}`);
      this.framing = { kind: "length", remaining: Number(length.trim()) };
    } else {
      this.framing = { kind: "close" };
    }
    this.status = Number(m[1]);
  }

  private readBody(): void {
    const f = this.framing;
    if (f === undefined) return;
    if (f.kind === "close") {
      this.push(this.take(this.pending.length));
      return;
    }
    if (f.kind === "length") {
      this.push(this.take(Math.min(f.remaining, this.pending.length)));
      if (f.remaining === 0) this.finish();
      return;
    }
    for (;;) {
      if (f.state === "size" || f.state === "trailer") {
        const eol = this.pending.indexOf("\r\n");
        if (eol < 0) {
          if (this.pending.length > maxHeadBytes) throw malformed("a chunk line is too long");
          return;
        }
        const line = this.take(eol).toString("latin1");
        this.take(2);
        if (f.state === "trailer") {
          if (line === "") {
            this.finish();
            return;
          }
          addField(this.trailer, line);
          continue;
        }
        const size = /^([0-9a-fA-F]{1,8})[ \t]*(;.*)?$/.exec(line);
        if (size === null) throw malformed(`bad chunk size line ${JSON.stringify(line)}`);
        f.remaining = Number.parseInt(size[1] ?? "", 16);
        f.state = f.remaining === 0 ? "trailer" : "data";
      } else if (f.state === "data") {
        if (this.pending.length === 0) return;
        const n = Math.min(f.remaining, this.pending.length);
        this.push(this.take(n));
        f.remaining -= n;
        if (f.remaining === 0) f.state = "data-end";
      } else {
        if (this.pending.length < 2) return;
        if (this.take(2).toString("latin1") !== "\r\n")
          throw malformed("a chunk is longer than its size");
        f.state = "size";
      }
    }
  }

  private take(n: number): Buffer {
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    return out;
  }

  private push(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.framing?.kind === "length") this.framing.remaining -= bytes.length;
    this.queue.push(bytes);
    this.queued += bytes.length;
    if (!this.paused && this.queued > highWaterBytes) {
      this.paused = true;
      this.onBackpressure(true);
    }
    this.wakeReader();
  }

  private finish(): void {
    this.finished = true;
    this.wakeReader();
    this.onDone();
  }

  private wakeReader(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

function addField(to: Headers, line: string): void {
  const colon = line.indexOf(":");
  if (colon <= 0) throw malformed(`bad header line ${JSON.stringify(line)}`);
  to.append(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
}

function malformed(what: string): ConnectError {
  return new ConnectError(`malformed HTTP response from the daemon: ${what}`, Code.Internal);
}

/**
 * A socket error as the call's ConnectError: a daemon that is not there (no socket, nothing
 * listening, unresolvable host) is UNAVAILABLE, a socket we may not open PERMISSION_DENIED, a
 * connection that broke mid-call UNAVAILABLE too.
 */
function connectErrorOf(e: unknown): ConnectError {
  if (e instanceof ConnectError) return e;
  // net's errors carry their errno name themselves (nothing here wraps them).
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  const has = (...names: string[]) => errno !== undefined && names.includes(errno);
  const code = has("EACCES", "EPERM")
    ? Code.PermissionDenied
    : has(
          "ENOENT",
          "ENOTSOCK",
          "ECONNREFUSED",
          "ETIMEDOUT",
          "ENOTFOUND",
          "EAI_AGAIN",
          "ECONNRESET",
          "EPIPE",
        )
      ? Code.Unavailable
      : Code.Internal;
  const ce = ConnectError.from(e, code);
  if (ce !== e) ce.cause = e;
  return ce;
}
