/**
 * The generated messages, enums and service of the contract alone, without the client (which
 * loads connect-node and Node's http modules). The CLI's single executable evaluates this at
 * build time into its startup snapshot (scripts/build-sea.mjs); Node's http cannot be.
 */
export * from "./gen/procmgr/v1/process_manager_pb.js";
