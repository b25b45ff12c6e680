/**
 * The client side of the contract without a network: a Connect transport over any HTTP client
 * (connect's UniversalClientFn) and the connection object the CLI uses. Nothing here loads
 * Node's http modules, so the CLI's single executable evaluates it into its startup snapshot
 * (and warms it there through an in-memory daemon: apps/cli/src/warm.ts).
 */
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { type UniversalClientFn, validateReadWriteMaxBytes } from "@connectrpc/connect/protocol";
import { createTransport } from "@connectrpc/connect/protocol-connect";
import {
  ListResponseWireSchema,
  ProcessManager,
  type ProcessStatus,
} from "./gen/procmgr/v1/process_manager_pb.js";
import { decodeProcessStatus } from "./status-codec.js";

/** Where a dd-procmgrd listens: its unix socket or a TCP host and port. */
export type DaemonAddress =
  | { kind: "unix"; path: string }
  | { kind: "tcp"; host: string; port: number };

export type ProcessManagerClient = Client<typeof ProcessManager>;

export interface ProcessManagerConnection {
  readonly client: ProcessManagerClient;
  readonly address: DaemonAddress;
  /**
   * `client.list({})`'s statuses, decoded field by field (status-codec.ts) instead of by
   * protobuf-es's reflection: the same messages, several times faster in a cold process.
   */
  listStatuses(): Promise<ProcessStatus[]>;
  /** Ends the calls in flight (they fail with CANCELED). */
  close(): void;
}

export interface DaemonTransportOptions {
  /** Sent as `authorization: Bearer <token>` on every call. */
  token?: string | undefined;
  /** Default deadline of unary calls (streams are not limited). */
  timeoutMs?: number | undefined;
}

function bearer(token: string): Interceptor {
  const value = `Bearer ${token}`;
  return (next) => async (req) => {
    req.header.set("authorization", value);
    return await next(req);
  };
}

/** The Connect protocol with binary protobuf over `httpClient`, calls going to `baseUrl`. */
export function createDaemonTransport(
  httpClient: UniversalClientFn,
  baseUrl: string,
  options: DaemonTransportOptions = {},
): Transport {
  const interceptors: Interceptor[] = [];
  if (options.token !== undefined && options.token !== "") {
    interceptors.push(bearer(options.token));
  }
  return createTransport({
    baseUrl,
    httpClient,
    useBinaryFormat: true,
    interceptors,
    // No gzip: the daemon is local (unix socket or loopback) and compressing a List of 1,000
    // statuses costs both sides more than sending it.
    acceptCompression: [],
    sendCompression: null,
    useHttpGet: false,
    ...validateReadWriteMaxBytes(undefined, undefined, undefined),
    ...(options.timeoutMs !== undefined ? { defaultTimeoutMs: options.timeoutMs } : {}),
  });
}

/** The List method with its response read as ListResponseWire (the same bytes). */
const listAsWire = { ...ProcessManager.method.list, output: ListResponseWireSchema };

/** A connection over a transport; `close` ends whatever carries it. */
export function connectionOver(
  transport: Transport,
  address: DaemonAddress,
  close: () => void,
): ProcessManagerConnection {
  return {
    client: createClient(ProcessManager, transport),
    address,
    async listStatuses() {
      const res = await transport.unary(listAsWire, undefined, undefined, undefined, {});
      return res.message.processes.map(decodeProcessStatus);
    },
    close,
  };
}
