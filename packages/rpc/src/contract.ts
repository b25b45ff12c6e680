/**
 * The generated messages, enums and service of the contract alone, without the client. The CLI's
 * single executable evaluates this (and ./transport.js) at build time into its startup snapshot
 * (scripts/build-sea.mjs).
 */
export * from "./gen/procmgr/v1/process_manager_pb.js";
