/**
 * gRPC's standard services the daemon serves beside ProcessManager: health checking and server
 * reflection. Apart from the index (`@procmgr/rpc/grpc-standard`): the CLI, which loads the
 * index on every run, never needs them.
 */
// gRPC's standard health checking protocol (grpc.health.v1), served by the daemon beside
// ProcessManager for grpc_health_probe and Kubernetes gRPC probes.
export type {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthListRequest,
  HealthListResponse,
} from "./gen/grpc/health/v1/health_pb.js";
export {
  file_grpc_health_v1_health,
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponse_ServingStatusSchema,
  HealthCheckResponseSchema,
  HealthListRequestSchema,
  HealthListResponseSchema,
} from "./gen/grpc/health/v1/health_pb.js";
// gRPC server reflection (grpc.reflection.v1), for grpcurl and buf curl without a .proto.
export type {
  ErrorResponse,
  ExtensionNumberResponse,
  ExtensionRequest,
  FileDescriptorResponse,
  ListServiceResponse,
  ServerReflectionRequest,
  ServerReflectionResponse,
  ServiceResponse,
} from "./gen/grpc/reflection/v1/reflection_pb.js";
export {
  ErrorResponseSchema,
  ExtensionNumberResponseSchema,
  ExtensionRequestSchema,
  FileDescriptorResponseSchema,
  file_grpc_reflection_v1_reflection,
  ListServiceResponseSchema,
  ServerReflection,
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
  ServiceResponseSchema,
} from "./gen/grpc/reflection/v1/reflection_pb.js";
// Its predecessor grpc.reflection.v1alpha (older grpcurl and grpc_cli ask for it): the same
// messages on the wire under another package, so only what serving it takes is exported.
export {
  file_grpc_reflection_v1alpha_reflection,
  ServerReflection as ServerReflectionV1alpha,
  ServerReflectionRequestSchema as ServerReflectionRequestV1alphaSchema,
  ServerReflectionResponseSchema as ServerReflectionResponseV1alphaSchema,
} from "./gen/grpc/reflection/v1alpha/reflection_pb.js";
