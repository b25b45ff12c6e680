export * from "./gen/procmgr/v1/process_manager_pb.js";
