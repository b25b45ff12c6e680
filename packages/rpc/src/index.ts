export type {
  DaemonAddress,
  DiscoveredDaemon,
  ProcessManagerClient,
  ProcessManagerClientOptions,
  ProcessManagerConnection,
  RpcClientErrorCode,
} from "./client.js";
export {
  createProcessManagerClient,
  createProcessManagerConnection,
  defaultTcpAddress,
  discoverDaemon,
  formatAddress,
  parseAddress,
  RpcClientError,
  runtimeDirCandidates,
  socketFileName,
  systemRuntimeDir,
  tokenFileName,
} from "./client.js";
export * from "./gen/procmgr/v1/process_manager_pb.js";
