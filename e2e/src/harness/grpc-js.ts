/**
 * A gRPC client of another implementation (@grpc/grpc-js, the committed .proto loaded at run
 * time): what a third-party gRPC client of dd-procmgrd sees.
 */
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { repoRoot } from "./daemon.js";

export type GrpcReply = Record<string, unknown>;

export interface GrpcJsClient {
  /** A unary call by method name ("List", "Create", ...), with optional metadata. */
  call(method: string, req: object, md?: grpc.Metadata): Promise<GrpcReply>;
  close(): void;
}

export interface GrpcJsClientOptions {
  readonly longs?: typeof String;
  /** The service: its .proto under packages/rpc/proto and its full name (ProcessManager). */
  readonly service?: { readonly proto: string; readonly name: string };
  /** TLS (default: none). */
  readonly credentials?: grpc.ChannelCredentials;
}

/**
 * Connects to `address` (host:port), without TLS unless `credentials` say otherwise. Messages
 * keep the .proto's field names.
 */
export async function grpcJsClient(
  address: string,
  options: GrpcJsClientOptions = {},
): Promise<GrpcJsClient> {
  const service = options.service ?? {
    proto: "procmgr/v1/process_manager.proto",
    name: "procmgr.v1.ProcessManager",
  };
  const def = await protoLoader.load(service.proto, {
    includeDirs: [join(repoRoot, "packages", "rpc", "proto")],
    keepCase: true,
    enums: String,
    ...(options.longs !== undefined ? { longs: options.longs } : {}),
    defaults: true,
  });
  // The package definition is nested by package: procmgr -> v1 -> ProcessManager.
  const Client = service.name
    .split(".")
    .reduce<unknown>(
      (o, k) => (o as Record<string, unknown>)[k],
      grpc.loadPackageDefinition(def),
    ) as grpc.ServiceClientConstructor;
  const client = new Client(address, options.credentials ?? grpc.credentials.createInsecure());
  return {
    call: (method, req, md = new grpc.Metadata()) =>
      new Promise<GrpcReply>((res, rej) => {
        (
          client[method] as (
            r: object,
            m: grpc.Metadata,
            cb: (e: Error | null, v: GrpcReply) => void,
          ) => void
        ).call(client, req, md, (e, v) => (e ? rej(e) : res(v)));
      }),
    close: () => client.close(),
  };
}
