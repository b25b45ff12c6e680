/**
 * gRPC server reflection (grpc.reflection.v1 and its predecessor v1alpha;
 * https://github.com/grpc/grpc/blob/master/doc/server-reflection.md), so that grpcurl, buf curl
 * and grpcui call the daemon without a copy of its .proto. It serves the file descriptors that
 * protoc-gen-es embeds in the generated code (`file_procmgr_v1_process_manager`...).
 *
 * Written here because no package does it for connect-es: connect-es has no reflection package
 * (connectrpc/connect-es#507 is open); @grpc/reflection, grpc-server-reflection and
 * nice-grpc-server-reflection are services of @grpc/grpc-js or nice-grpc servers built from
 * protobufjs package definitions, not of a Connect router with protobuf-es descriptors. With
 * protobuf-es's registry the protocol is a lookup per request.
 */
import {
  create,
  createRegistry,
  type DescFile,
  type DescService,
  fromBinary,
  type Registry,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  ErrorResponseSchema,
  ExtensionNumberResponseSchema,
  FileDescriptorResponseSchema,
  ListServiceResponseSchema,
  ServerReflection,
  type ServerReflectionRequest,
  ServerReflectionRequestSchema,
  ServerReflectionRequestV1alphaSchema,
  type ServerReflectionResponse,
  ServerReflectionResponseSchema,
  ServerReflectionResponseV1alphaSchema,
  ServerReflectionV1alpha,
} from "@procmgr/rpc/grpc-standard";

type MessageResponse = ServerReflectionResponse["messageResponse"];

/** The files of `services` and every file they import, by their .proto name. */
function filesOf(services: readonly DescService[]): Map<string, DescFile> {
  const files = new Map<string, DescFile>();
  const add = (f: DescFile): void => {
    if (files.has(f.proto.name)) return;
    files.set(f.proto.name, f);
    for (const d of f.dependencies) add(d);
  };
  for (const s of services) add(s.file);
  return files;
}

/** A file and its transitive imports, the file first, each once: what a client needs to link it. */
function withImports(file: DescFile): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  const add = (f: DescFile): void => {
    if (seen.has(f.proto.name)) return;
    seen.add(f.proto.name);
    out.push(toBinary(FileDescriptorProtoSchema, f.proto));
    for (const d of f.dependencies) add(d);
  };
  add(file);
  return out;
}

/**
 * The file declaring a fully-qualified symbol: a type or service, or a member of one (a method,
 * a field, a oneof; an enum value, which protobuf scopes beside its enum).
 */
function fileOfSymbol(registry: Registry, name: string): DescFile | undefined {
  const type = registry.get(name);
  if (type !== undefined) return type.file;
  const dot = name.lastIndexOf(".");
  const scope = name.slice(0, Math.max(dot, 0));
  const member = name.slice(dot + 1);
  const parent = registry.get(scope);
  if (parent?.kind === "service" && parent.methods.some((m) => m.name === member)) {
    return parent.file;
  }
  if (
    parent?.kind === "message" &&
    (parent.fields.some((f) => f.name === member) || parent.oneofs.some((o) => o.name === member))
  ) {
    return parent.file;
  }
  for (const t of registry) {
    if (t.kind !== "enum" || !t.values.some((v) => v.name === member)) continue;
    if (t.typeName.slice(0, Math.max(t.typeName.lastIndexOf("."), 0)) === scope) return t.file;
  }
  return undefined;
}

function notFound(message: string): MessageResponse {
  return {
    case: "errorResponse",
    value: create(ErrorResponseSchema, {
      errorCode: Code.NotFound,
      errorMessage: message,
    }),
  };
}

function descriptors(file: DescFile | undefined, what: string): MessageResponse {
  if (file === undefined) return notFound(`${what} not found`);
  return {
    case: "fileDescriptorResponse",
    value: create(FileDescriptorResponseSchema, {
      fileDescriptorProto: withImports(file),
    }),
  };
}

/** Answers one reflection request about `services` (v1 messages). */
export function createReflector(
  services: readonly DescService[],
): (req: ServerReflectionRequest) => ServerReflectionResponse {
  const files = filesOf(services);
  const registry = createRegistry(...files.values());
  const answer = (r: ServerReflectionRequest["messageRequest"]): MessageResponse => {
    switch (r.case) {
      case "listServices":
        return {
          case: "listServicesResponse",
          value: create(ListServiceResponseSchema, {
            service: services.map((s) => ({ name: s.typeName })),
          }),
        };
      case "fileByFilename":
        return descriptors(files.get(r.value), `file "${r.value}"`);
      case "fileContainingSymbol":
        return descriptors(fileOfSymbol(registry, r.value), `symbol "${r.value}"`);
      case "fileContainingExtension": {
        const { containingType, extensionNumber } = r.value;
        const message = registry.getMessage(containingType);
        const ext = message && registry.getExtensionFor(message, extensionNumber);
        return descriptors(ext?.file, `extension ${extensionNumber} of "${containingType}"`);
      }
      case "allExtensionNumbersOfType": {
        if (registry.getMessage(r.value) === undefined)
          return notFound(`type "${r.value}" not found`);
        const numbers = [...registry].flatMap((t) =>
          t.kind === "extension" && t.extendee.typeName === r.value ? [t.number] : [],
        );
        return {
          case: "allExtensionNumbersResponse",
          value: create(ExtensionNumberResponseSchema, {
            baseTypeName: r.value,
            extensionNumber: numbers,
          }),
        };
      }
      default:
        throw new ConnectError(
          "message_request: required (one of its cases)",
          Code.InvalidArgument,
        );
    }
  };
  return (req) =>
    create(ServerReflectionResponseSchema, {
      validHost: req.host,
      originalRequest: req,
      messageResponse: answer(req.messageRequest),
    });
}

/**
 * Both reflection services for `services` (which should include the reflection services
 * themselves, as grpc-go lists them). v1alpha is v1 on the wire under another package, so its
 * messages are transcoded to v1 and back rather than answered twice.
 *
 * Open to every caller, token or not (see the auth interceptor): it tells the API's shape, which
 * the published .proto tells anyway, and nothing of the processes.
 */
export function reflectionRoutes(
  services: readonly DescService[],
): (router: ConnectRouter) => void {
  const reflect = createReflector(services);
  return (router) => {
    router.service(ServerReflection, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) yield reflect(req);
      },
    });
    router.service(ServerReflectionV1alpha, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) {
          const v1 = fromBinary(
            ServerReflectionRequestSchema,
            toBinary(ServerReflectionRequestV1alphaSchema, req),
          );
          const res = toBinary(ServerReflectionResponseSchema, reflect(v1));
          yield fromBinary(ServerReflectionResponseV1alphaSchema, res);
        }
      },
    });
  };
}
