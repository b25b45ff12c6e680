import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createFileRegistry, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { ProcessManager } from "@procmgr/rpc";
import {
  ServerReflection,
  type ServerReflectionRequestSchema,
  type ServerReflectionResponse,
  ServerReflectionV1alpha,
} from "@procmgr/rpc/grpc-standard";
import { servedServices } from "./api-handler.js";
import { reflectionRoutes } from "./grpc-reflection.js";

type Request = MessageInitShape<typeof ServerReflectionRequestSchema>;

const transport = createRouterTransport(reflectionRoutes(servedServices));
const v1 = createClient(ServerReflection, transport);
const v1alpha = createClient(ServerReflectionV1alpha, transport);

/** Sends every request on one stream; answers in order. */
async function ask(...requests: Request[]): Promise<ServerReflectionResponse[]> {
  const out: ServerReflectionResponse[] = [];
  for await (const r of v1.serverReflectionInfo(
    (async function* () {
      yield* requests;
    })(),
  )) {
    out.push(r);
  }
  return out;
}

type Answer = ServerReflectionResponse["messageResponse"];
type AnswerValues = { [A in Answer as A["case"] & string]: A["value"] };

/** The value of an answer of the `kind` expected (fails on any other). */
function expect<K extends keyof AnswerValues>(r: Answer | undefined, kind: K): AnswerValues[K] {
  const got: string | undefined = r?.case;
  if (got !== kind) assert.fail(`expected ${kind}, got ${JSON.stringify(r)}`);
  return r?.value as AnswerValues[K];
}

async function one(request: Request): Promise<Answer> {
  const [r] = await ask(request);
  assert.ok(r);
  return r.messageResponse;
}

/** The file names of a file_descriptor_response (each must decode as a FileDescriptorProto). */
async function filesFor(request: Request): Promise<string[]> {
  const files = expect(await one(request), "fileDescriptorResponse").fileDescriptorProto;
  return files.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
}

describe("gRPC server reflection", () => {
  test("list_services: ProcessManager, Health and both reflection services", async () => {
    const r = expect(
      await one({ messageRequest: { case: "listServices", value: "*" } }),
      "listServicesResponse",
    );
    assert.deepEqual(r.service.map((s) => s.name).sort(), [
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "procmgr.v1.ProcessManager",
    ]);
  });

  test("file_containing_symbol: a descriptor set that links and describes the service", async () => {
    const r = expect(
      await one({
        messageRequest: { case: "fileContainingSymbol", value: "procmgr.v1.ProcessManager" },
      }),
      "fileDescriptorResponse",
    );
    const files = r.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
    assert.deepEqual(
      files.map((f) => f.name),
      ["procmgr/v1/process_manager.proto", "google/protobuf/timestamp.proto"],
    );
    // Linked as a client does: the file asked for, its imports resolved by name.
    const [main] = files;
    assert.ok(main);
    const registry = createFileRegistry(main, (name) => files.find((f) => f.name === name));
    const service = registry.getService("procmgr.v1.ProcessManager");
    assert.deepEqual(
      service?.methods.map((m) => m.name),
      ProcessManager.methods.map((m) => m.name),
    );
    // Field names and JSON names survive (what grpcurl and buf curl encode requests with).
    const spec = registry.getMessage("procmgr.v1.ProcessSpec");
    assert.equal(spec?.field.autoStart?.jsonName, "autoStart");
  });

  test("file_containing_symbol: methods, fields, nested types and enum values too", async () => {
    const cases: Array<[string, string]> = [
      ["procmgr.v1.ProcessManager.List", "procmgr/v1/process_manager.proto"],
      ["procmgr.v1.ListRequest", "procmgr/v1/process_manager.proto"],
      ["procmgr.v1.ProcessSpec.command", "procmgr/v1/process_manager.proto"],
      ["procmgr.v1.PROCESS_STATE_RUNNING", "procmgr/v1/process_manager.proto"],
      ["grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"],
      ["grpc.health.v1.HealthCheckResponse.SERVING", "grpc/health/v1/health.proto"],
      ["google.protobuf.Timestamp", "google/protobuf/timestamp.proto"],
    ];
    for (const [symbol, file] of cases) {
      const names = await filesFor({
        messageRequest: { case: "fileContainingSymbol", value: symbol },
      });
      assert.equal(names[0], file, symbol);
    }
  });

  test("file_by_filename, and NOT_FOUND in an error_response for what is not there", async () => {
    assert.deepEqual(
      await filesFor({
        messageRequest: { case: "fileByFilename", value: "grpc/health/v1/health.proto" },
      }),
      ["grpc/health/v1/health.proto"],
    );
    const missing: Request[] = [
      { messageRequest: { case: "fileByFilename", value: "nope.proto" } },
      { messageRequest: { case: "fileContainingSymbol", value: "procmgr.v1.Nope" } },
      { messageRequest: { case: "fileContainingSymbol", value: "procmgr.v1.ProcessSpec.nope" } },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "procmgr.v1.Nope" } },
      {
        messageRequest: {
          case: "fileContainingExtension",
          value: { containingType: "procmgr.v1.ProcessSpec", extensionNumber: 1000 },
        },
      },
    ];
    for (const r of await ask(...missing)) {
      assert.equal(expect(r.messageResponse, "errorResponse").errorCode, Code.NotFound);
    }
  });

  test("all_extension_numbers_of_type: none are declared; the answer echoes the request", async () => {
    const [r] = await ask({
      host: "localhost:50051",
      messageRequest: { case: "allExtensionNumbersOfType", value: "procmgr.v1.ProcessSpec" },
    });
    assert.equal(r?.validHost, "localhost:50051");
    assert.equal(r?.originalRequest?.messageRequest.value, "procmgr.v1.ProcessSpec");
    const numbers = expect(r?.messageResponse, "allExtensionNumbersResponse");
    assert.equal(numbers.baseTypeName, "procmgr.v1.ProcessSpec");
    assert.deepEqual(numbers.extensionNumber, []);
  });

  test("a request without a message_request ends the stream with INVALID_ARGUMENT", async () => {
    await assert.rejects(ask({ host: "x" }), (e) => {
      assert.equal(ConnectError.from(e).code, Code.InvalidArgument);
      return true;
    });
  });

  test("v1alpha answers as v1 does, in its own messages", async () => {
    const responses = [];
    for await (const r of v1alpha.serverReflectionInfo(
      (async function* () {
        yield { messageRequest: { case: "listServices" as const, value: "" } };
        yield {
          messageRequest: { case: "fileContainingSymbol" as const, value: "grpc.health.v1.Health" },
        };
      })(),
    )) {
      responses.push(r);
    }
    const [list, file] = responses;
    assert.equal(list?.$typeName, "grpc.reflection.v1alpha.ServerReflectionResponse");
    if (list?.messageResponse.case !== "listServicesResponse") assert.fail("expected services");
    assert.equal(list.messageResponse.value.service.length, 4);
    if (file?.messageResponse.case !== "fileDescriptorResponse") assert.fail("expected files");
    const names = file.messageResponse.value.fileDescriptorProto.map(
      (b) => fromBinary(FileDescriptorProtoSchema, b).name,
    );
    assert.deepEqual(names, ["grpc/health/v1/health.proto"]);
  });
});
