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

/**
 * Connects to `address` (host:port), without TLS unless `credentials` say otherwise. Messages
 * keep the .proto's field names.
 */
export async function grpcJsClient(
  address: string,
  options: { longs?: typeof String; credentials?: grpc.ChannelCredentials } = {},
): Promise<GrpcJsClient> {
  const def = await protoLoader.load("procmgr/v1/process_manager.proto", {
    includeDirs: [join(repoRoot, "packages", "rpc", "proto")],
    keepCase: true,
    enums: String,
    ...(options.longs !== undefined ? { longs: options.longs } : {}),
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    procmgr: { v1: { ProcessManager: grpc.ServiceClientConstructor } };
  };
  const client = new pkg.procmgr.v1.ProcessManager(
    address,
    options.credentials ?? grpc.credentials.createInsecure(),
  );
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
